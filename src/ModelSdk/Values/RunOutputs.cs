using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace ModelSdk
{
    /// <summary>
    /// The outputs of one run as generated result types hold them: the data and the run they belong to.
    /// Generated <c>Result</c> (a <c>ref struct</c>, from synchronous runs) and <c>OwnedResult</c> (from
    /// <c>RunAsync</c>) expose one typed property per output on top of it.
    /// </summary>
    public readonly struct RunOutputs
    {
        private readonly OutputSet? _set;
        private readonly long _version;

        internal RunOutputs(OutputSet set, long version)
        {
            _set = set;
            _version = version;
        }

        /// <summary>True while these outputs still hold their run's data.</summary>
        public bool IsValid => _set != null && _set.Version == _version;

        /// <summary>A typed view of output <paramref name="index"/> (graph order).</summary>
        /// <exception cref="InvalidOperationException">The run is over, or the output was not selected.</exception>
        public OutputTensor<T> GetOutput<T>(int index) => Typed<T>(Set, index, _version);

        /// <summary>A typed view of output <paramref name="index"/> that can't leave the synchronous code that ran the model.</summary>
        public OutputSpan<T> GetSpan<T>(int index) => new OutputSpan<T>(Typed<T>(Set, index, _version));

        /// <summary>
        /// Output <paramref name="index"/> when it is a sequence, map or optional: decoded into managed objects on the first
        /// read of this run (a copy that belongs to the caller; null for an absent optional).
        /// </summary>
        /// <typeparam name="T">The output's type: <see cref="OnnxSequence{T}"/>, <see cref="OnnxMap{TKey, TValue}"/>, <see cref="OnnxTensor{T}"/> (an optional tensor).</typeparam>
        /// <exception cref="InvalidOperationException">The run is over, or the output was not selected.</exception>
        /// <exception cref="InvalidCastException">The output holds another type.</exception>
        public T? ReadValue<T>(int index)
            where T : class => Decoded<T>(Set, index, _version);

        /// <summary>An untyped view of output <paramref name="index"/>.</summary>
        public OutputValue GetValue(int index)
        {
            OutputSet set = Set;
            CheckIndex(set, index);
            set.Produced(index, _version);
            return new OutputValue(set, index, _version);
        }

        /// <summary>Copies these outputs into <paramref name="result"/>, which then owns them (for keeping a synchronous result).</summary>
        public TResult ToOwned<TResult>(TResult result)
            where TResult : OwnedRunResult<TResult>
        {
            ArgumentNullException.ThrowIfNull(result);
            result.Adopt(Set.Clone(_version));
            return result;
        }

        private OutputSet Set => _set ?? throw new InvalidOperationException("This result holds no run (it is a default value).");

        /// <summary>The set holding the outputs (for the runtime's own readers, such as a batcher cutting rows).</summary>
        internal OutputSet Data => Set;

        internal static OutputTensor<T> Typed<T>(OutputSet set, int index, long version)
        {
            CheckIndex(set, index);
            TensorInfo info = set.Signature.Outputs[index];
            if (ElementTypeOf<T>.Value != info.ElementType || !info.IsSupported || !info.IsTensor)
            {
                ThrowWrongType<T>(set.Signature, index);
            }

            set.Produced(index, version);
            return new OutputTensor<T>(set, index, version);
        }

        internal static T? Decoded<T>(OutputSet set, int index, long version)
            where T : class
        {
            CheckIndex(set, index);
            TensorInfo info = set.Signature.Outputs[index];
            if (info.IsTensor || !info.IsSupported)
            {
                ThrowWrongType<T>(set.Signature, index);
            }

            object? value = set.Produced(index, version).ValueOf(set, index, version);
            return value is null or T ? (T?)value : throw new InvalidCastException(
                $"Output '{info.Name}' of model '{set.Signature.ModelName}' has type {info.TypeDescription}, read as {value.GetType().Name}, not {typeof(T).Name}.");
        }

        private static void CheckIndex(OutputSet set, int index)
        {
            if ((uint)index >= (uint)set.Items.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{set.Signature.ModelName}' has {set.Items.Length} outputs.");
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void ThrowWrongType<T>(ModelSignature signature, int index)
        {
            TensorInfo info = signature.Outputs[index];
            if (!info.IsSupported)
            {
                throw ModelErrors.UnsupportedOutput(signature, index);
            }

            throw new InvalidCastException(info.IsTensor
                ? $"Output '{info.Name}' of model '{signature.ModelName}' holds {OnnxElementTypes.OnnxName(info.ElementType)} elements, not {typeof(T).Name}."
                : $"Output '{info.Name}' of model '{signature.ModelName}' has type {info.TypeDescription}: read it with ReadValue, not as {typeof(T).Name} elements.");
        }
    }

    /// <summary>
    /// The base of a generated <c>OwnedResult</c>: outputs that belong to the result, not to a request, so it
    /// can be kept across <c>await</c>s, stored, or returned to a serializer (each output serializes as nested
    /// arrays). <see cref="Dispose"/> hands its buffers back for reuse; a result that is never disposed is
    /// simply collected (it holds managed memory only). Disposing twice is harmless.
    /// </summary>
    /// <typeparam name="TSelf">The generated result type.</typeparam>
    public abstract class OwnedRunResult<TSelf> : IDisposable, IValueTaskSource<TSelf>, IRunObserver, IBatchedResult
        where TSelf : OwnedRunResult<TSelf>
    {
        private OutputSet? _set;
        private long _version;

        // The awaitable of the RunAsync that fills this result (one object per call). Completion is signalled
        // from the .NET thread-pool thread that ran the inference, which may continue the awaiting code at once.
        private ManualResetValueTaskSourceCore<TSelf> _completion = new ManualResetValueTaskSourceCore<TSelf> { RunContinuationsAsynchronously = false };

        /// <summary>Creates an empty result; the runtime fills it.</summary>
        protected OwnedRunResult()
        {
        }

        /// <summary>A typed view of output <paramref name="index"/>, valid until this result is disposed.</summary>
        /// <exception cref="ObjectDisposedException">The result was disposed.</exception>
        protected OutputTensor<T> GetOutput<T>(int index) => RunOutputs.Typed<T>(Set, index, _version);

        /// <summary>Output <paramref name="index"/> when it is a sequence, map or optional, decoded once (see <see cref="RunOutputs.ReadValue{T}"/>).</summary>
        /// <exception cref="ObjectDisposedException">The result was disposed.</exception>
        protected T? ReadValue<T>(int index)
            where T : class => RunOutputs.Decoded<T>(Set, index, _version);

        /// <summary>Gives the outputs' buffers back for reuse; views of this result then throw. Harmless when called again.</summary>
        public void Dispose()
        {
            Interlocked.Exchange(ref _set, null)?.GiveBack();
        }

        private OutputSet Set => Volatile.Read(ref _set) ?? throw new ObjectDisposedException(GetType().FullName, "This result was disposed: its outputs are no longer available.");

        internal void Adopt(OutputSet set)
        {
            set.Lend();
            _version = set.Version;
            Volatile.Write(ref _set, set);
        }

        internal short Token => _completion.Version;

        void IRunObserver.OnRunCompleted(InferRequest request, Exception? error)
        {
            if (error is null)
            {
                Adopt(request.DetachOutputs());
            }

            request.ReturnToPool(); // idle again before the awaiting code continues (it may start the next run)
            if (error is null)
            {
                _completion.SetResult((TSelf)this);
            }
            else
            {
                _completion.SetException(error);
            }
        }

        void IBatchedResult.Complete(OutputSet outputs, bool inline)
        {
            Adopt(outputs);
            _completion.RunContinuationsAsynchronously = !inline; // a batch's other callers continue on other threads
            _completion.SetResult((TSelf)this);
        }

        void IBatchedResult.Fail(Exception error)
        {
            _completion.RunContinuationsAsynchronously = true; // may be the caller's own Cancel, or a Dispose: never run its continuation there
            _completion.SetException(error);
        }

        TSelf IValueTaskSource<TSelf>.GetResult(short token) => _completion.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<TSelf>.GetStatus(short token) => _completion.GetStatus(token);

        void IValueTaskSource<TSelf>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>Told when an asynchronous run ends (once, on the .NET thread-pool thread that ran it).</summary>
    internal interface IRunObserver
    {
        void OnRunCompleted(InferRequest request, Exception? error);
    }
}
