using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>
    /// A model loaded into ONNX Runtime and compiled once; the base of every generated model class.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Lifetimes.</b> A synchronous <c>Run</c> returns a <c>ref struct</c> result whose views are valid until
    /// the next <c>Run</c> on the same thread; the compiler keeps it out of fields, lambdas and <c>await</c>s.
    /// <c>RunAsync</c> returns an owned result that can go anywhere and holds managed memory only: dispose it to
    /// recycle its buffers, or drop it. Requests follow concurrency: runs in flight plus a small idle pool
    /// (<see cref="ModelOptions.MaxIdleRequests"/>), trimmed when unused.
    /// </para>
    /// <para>
    /// <b>Dispose</b> never blocks and may be called from any thread, callbacks included: new runs are refused,
    /// runs in flight are stopped at their next operator and end with <see cref="ObjectDisposedException"/>, and
    /// native memory is released when the last of them ends (<see cref="DisposeAsync"/> waits for that).
    /// </para>
    /// </remarks>
    public abstract class CompiledModel : IDisposable, IAsyncDisposable
    {
        private readonly ModelOptions _options;
        private readonly object _reloadLock = new object();
        private volatile ModelVersion _version;
        private readonly List<WeakReference<InferRequest>> _ownRequests = new List<WeakReference<InferRequest>>();
        private readonly TaskCompletionSource _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _liveRequests;
        private volatile bool _disposed;
        private volatile bool _closing;

        /// <summary>Loads the model and checks that the file matches <paramref name="signature"/>.</summary>
        /// <param name="source">The model file or bytes.</param>
        /// <param name="signature">The inputs and outputs the caller was built for.</param>
        /// <param name="options">Session options; null for defaults.</param>
        /// <exception cref="ModelLoadException">ONNX Runtime rejected the model, or it does not match <paramref name="signature"/>.</exception>
        protected CompiledModel(ModelSource source, ModelSignature signature, ModelOptions? options)
        {
            ArgumentNullException.ThrowIfNull(source);
            ArgumentNullException.ThrowIfNull(signature);
            Signature = signature;
            _options = options?.Clone() ?? new ModelOptions();
            _options.Validate();
            _version = ModelVersion.Load(signature, _options, source, source.Read(signature.ModelName), number: 1);
            Layout = new OutputLayout(signature);
            Pool = new RequestPool(this, _options);
            ModelMetrics.Register(this);
        }

        /// <summary>The options the model was loaded with (a copy: changing the caller's object later has no effect).</summary>
        public ModelOptions Options => _options;

        /// <summary>A sensible number of parallel jobs for this machine (one per core, at least 2).</summary>
        public static int DefaultJobCount => Math.Max(2, Environment.ProcessorCount);

        /// <summary>The model's inputs and outputs.</summary>
        public ModelSignature Signature { get; }

        /// <summary>Where the version of the model that new runs use was loaded from.</summary>
        public ModelSource Source => _version.Source;

        /// <summary>Which version of the model new runs use: 1 once loaded, one more after each <see cref="Reload(ModelSource)"/> that swapped in a new file.</summary>
        public int Version => _version.Number;

        /// <summary>Requests with native state this model holds: its own (in use, idle, parked on threads) and the caller's.</summary>
        public int RequestsHeld
        {
            get
            {
                lock (_ownRequests)
                {
                    PruneOwnRequestsLocked(released: null); // the caller's requests the GC collected are not held
                }

                return Volatile.Read(ref _liveRequests);
            }
        }

        /// <summary>Runs in progress right now (synchronous and asynchronous).</summary>
        public int RunsInFlight
        {
            get
            {
                int running = Pool.RunningCount;
                foreach (InferRequest request in OwnRequests())
                {
                    running += request.IsRunning ? 1 : 0;
                }

                return running;
            }
        }

        /// <summary>True once <see cref="Dispose"/> has been called.</summary>
        public bool IsDisposed => _disposed;

        /// <summary>True once the model refuses new runs (disposed, or closing: see <see cref="CloseAsync"/>).</summary>
        internal bool RefusesRuns => _disposed || _closing;

        /// <summary>Where the model's asynchronous runs execute (.NET thread-pool threads).</summary>
        internal RunScheduler Scheduler { get; } = new RunScheduler();

        /// <summary>The loaded version new runs use (requests stay on the version they were created for).</summary>
        internal ModelVersion CurrentVersion => _version;

        /// <summary>Which outputs share data or pass an input through.</summary>
        internal OutputLayout Layout { get; }

        /// <summary>The requests this model lends to its own runs.</summary>
        internal RequestPool Pool { get; }

        /// <summary>Pooled requests at rest (idle or parked); for tests.</summary>
        internal int RestingRequests => Pool.RestingCount;

        /// <summary>Creates a request of your own: its outputs stay valid until you run it again. Dispose it when done.</summary>
        public InferRequest CreateRequest()
        {
            ThrowIfDisposed();
            var request = new InferRequest(this, pooled: false);
            Interlocked.Increment(ref _liveRequests);
            lock (_ownRequests)
            {
                if (_disposed)
                {
                    request.Dispose(StaleReason.ModelDisposed);
                    ThrowIfDisposed();
                }

                if (_ownRequests.Count >= 16 && _ownRequests.Count % 16 == 0)
                {
                    PruneOwnRequestsLocked(released: null);
                }

                _ownRequests.Add(new WeakReference<InferRequest>(request));
            }

            return request;
        }

        /// <summary>A new request for the pool, reserved for its first caller.</summary>
        internal InferRequest NewPooledRequest()
        {
            var request = new InferRequest(this, pooled: true);
            Interlocked.Increment(ref _liveRequests);
            request.TryReserve();
            return request;
        }

        /// <summary>
        /// Swaps in another version of the model: reads <paramref name="source"/>, loads it and checks it against the
        /// class, then new runs use it; runs in flight finish on the old version, whose sessions are released once
        /// its last request is (idle ones at once, parked ones when their thread next runs or the trimmer passes).
        /// Requests of your own (<see cref="CreateRequest"/>, queues) keep the version they were created with.
        /// On failure nothing changes and the exception says why.
        /// </summary>
        /// <param name="source">The new model file or bytes.</param>
        /// <returns>False when <paramref name="source"/> holds the very bytes already loaded (nothing was swapped).</returns>
        /// <exception cref="ModelLoadException">The file can't be read or loaded, or does not match the class.</exception>
        public bool Reload(ModelSource source) => Reload(source, warmUp: false);

        /// <summary>
        /// Swaps in another version of the model (see <see cref="Reload(ModelSource)"/>); with <paramref name="warmUp"/>,
        /// the new version runs once on zeros before it is swapped in, so the first run it serves is not its first.
        /// </summary>
        /// <returns>False when <paramref name="source"/> holds the very bytes already loaded (nothing was swapped).</returns>
        /// <exception cref="ModelLoadException">The file can't be read or loaded, or does not match the class.</exception>
        public bool Reload(ModelSource source, bool warmUp)
        {
            ArgumentNullException.ThrowIfNull(source);
            lock (_reloadLock)
            {
                ThrowIfDisposed();
                ModelVersion old = _version;
                ModelVersion loaded;
                try
                {
                    LoadedBytes bytes = source.Read(Signature.ModelName);
                    if (old.IsSameFile(bytes))
                    {
                        ModelMetrics.Reloaded(this, "unchanged");
                        return false;
                    }

                    loaded = ModelVersion.Load(Signature, _options, source, bytes, old.Number + 1);
                }
                catch (ModelLoadException)
                {
                    ModelMetrics.Reloaded(this, "failure");
                    throw;
                }

                if (warmUp)
                {
                    try
                    {
                        TryWarmUp(loaded);
                    }
                    catch
                    {
                        loaded.Retire();
                        throw;
                    }
                }

                _version = loaded;
                Interlocked.MemoryBarrier(); // requests taken from now on see the new version
                Pool.RetireOlderVersions();
                old.Retire();
                ModelMetrics.Reloaded(this, "success");
                return true;
            }
        }

        /// <summary>
        /// Runs the model once on zeros of its declared shapes (symbolic dims as 1), so that the first real run does
        /// not pay for ONNX Runtime's first run (memory arenas, prepacked weights). False when the model has an input
        /// ModelSdk can't pass, or rejects zeros (then nothing is lost but the warm-up).
        /// </summary>
        public bool WarmUp()
        {
            ThrowIfDisposed();
            return TryWarmUp(_version);
        }

        private bool TryWarmUp(ModelVersion version)
        {
            var request = new InferRequest(this, pooled: false, version);
            Interlocked.Increment(ref _liveRequests);
            try
            {
                for (int i = 0; i < Signature.Inputs.Count; i++)
                {
                    TensorInfo input = Signature.Inputs[i];
                    if (!input.IsSupported || !input.IsTensor)
                    {
                        return false; // no neutral value to warm a sequence or map input with
                    }

                    nint[] shape = input.HasShape ? Array.ConvertAll(input.DimArray, d => d.IsFixed ? (nint)d.Value : 1) : new nint[] { 1 };
                    int count = 1;
                    foreach (nint d in shape)
                    {
                        count = checked(count * (int)d);
                    }

                    request.CopyInput(i, input.ElementType == OnnxElementType.String
                        ? InputArg.FromStrings(Enumerable.Repeat(string.Empty, count).ToArray(), shape)
                        : InputArg.FromBytes(input.ElementType, new byte[checked((int)OnnxElementTypes.StorageLength(input.ElementType, count) * OnnxElementTypes.SizeOf(input.ElementType))], shape));
                }

                request.Run();
                return true;
            }
            catch (Exception ex) when (ex is ArgumentException or InferenceException or OverflowException)
            {
                return false;
            }
            finally
            {
                request.Dispose();
            }
        }

        /// <summary>Reads the current version's file again and swaps it in if it changed (see <see cref="Reload(ModelSource)"/>).</summary>
        public bool Reload() => Reload(Source.Path is string path ? ModelSource.FromFile(path) : Source);

        /// <summary>
        /// Runs the model on the calling thread's request (parked on it between runs, so repeated runs bind
        /// nothing again and allocate nothing), with the given inputs read in place. The outputs are valid until
        /// this thread's next run of the model. One overload per number of inputs (up to <see cref="InferRequest.MaxPinnedInputs"/>).
        /// </summary>
        /// <param name="outputs">The outputs to produce (bit <c>i</c>: output <c>i</c>).</param>
        /// <param name="symbols">Values of symbolic dims for this run.</param>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1, a2);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1, a2, a3);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1, a2, a3, a4);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1, a2, a3, a4, a5);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1, a2, a3, a4, a5, a6);

        /// <inheritdoc cref="RunOnThisThread(ulong, ReadOnlySpan{SymbolValue})"/>
        protected RunOutputs RunOnThisThread(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6, InputArg a7) =>
            Pool.TakeForThisThread().RunHeld(outputs, symbols, a0, a1, a2, a3, a4, a5, a6, a7);

        /// <summary>For models with more inputs than <see cref="InferRequest.MaxPinnedInputs"/>: the calling thread's request, held for <see cref="CopyInput"/> and <see cref="RunReserved"/>.</summary>
        protected InferRequest ReserveThreadRequest()
        {
            ThrowIfDisposed();
            return Pool.ReserveForThisThread();
        }

        /// <summary>Copies an input into a request the caller holds (from <see cref="ReserveThreadRequest"/>); on failure the request is let go.</summary>
        protected static void CopyInput(InferRequest held, int index, InputArg input)
        {
            ArgumentNullException.ThrowIfNull(held);
            held.CopyHeld(index, input);
        }

        /// <summary>Runs a request held since <see cref="ReserveThreadRequest"/>, its first inputs given, the others copied in.</summary>
        protected static RunOutputs RunReserved(InferRequest held, ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols,
            InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6, InputArg a7)
        {
            ArgumentNullException.ThrowIfNull(held);
            return held.RunHeld(outputs, symbols, a0, a1, a2, a3, a4, a5, a6, a7);
        }

        /// <summary>An idle request for one <c>RunAsync</c>, held by the caller until <see cref="StartRented"/>.</summary>
        protected InferRequest RentRequest()
        {
            ThrowIfDisposed();
            return Pool.Rent();
        }

        /// <summary>Stages an input of a rented request (copied, or pinned in shared mode); on failure the request goes back to the pool.</summary>
        protected static void StageInput<T>(InferRequest rented, int index, InputMemory<T> input)
        {
            ArgumentNullException.ThrowIfNull(rented);
            try
            {
                rented.StageHeld(index, input);
            }
            catch
            {
                rented.ReturnToPool();
                throw;
            }
        }

        /// <summary>Stages a sequence, map or optional input of a rented request (copied now); on failure the request goes back to the pool.</summary>
        protected static void StageValue(InferRequest rented, int index, object? value)
        {
            ArgumentNullException.ThrowIfNull(rented);
            try
            {
                rented.StageHeld(index, InputArg.FromValue(value));
            }
            catch
            {
                rented.ReturnToPool();
                throw;
            }
        }

        /// <summary>
        /// Starts the run of a rented request on the thread pool. The request goes back to the pool as soon as
        /// the run ends; <paramref name="result"/> takes the outputs and completes the returned task. Inputs are
        /// checked before this returns (errors throw here).
        /// </summary>
        protected ValueTask<TResult> StartRented<TResult>(InferRequest rented, ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols,
            CancellationToken cancellationToken, TResult result)
            where TResult : OwnedRunResult<TResult>
        {
            ArgumentNullException.ThrowIfNull(rented);
            ArgumentNullException.ThrowIfNull(result);
            if (cancellationToken.IsCancellationRequested)
            {
                rented.ReturnToPool();
                return ValueTask.FromCanceled<TResult>(cancellationToken);
            }

            try
            {
                rented.StartHeld(outputs, symbols, cancellationToken, result, completion: null);
            }
            catch
            {
                rented.ReturnToPool();
                throw;
            }

            return new ValueTask<TResult>(result, result.Token);
        }

        /// <summary>A request released its native state (disposed or retired).</summary>
        internal void OnReleased(InferRequest request)
        {
            if (request.IsPooled)
            {
                Pool.Forget(request);
            }
            else
            {
                lock (_ownRequests)
                {
                    PruneOwnRequestsLocked(released: request);
                }
            }

            CountReleased();
        }

        /// <summary>
        /// Forgets <paramref name="released"/> and the caller's requests the GC collected without Dispose (their
        /// native state went with their SafeHandles): each of those counts as released here.
        /// </summary>
        private void PruneOwnRequestsLocked(InferRequest? released)
        {
            for (int i = _ownRequests.Count - 1; i >= 0; i--)
            {
                if (!_ownRequests[i].TryGetTarget(out InferRequest? request))
                {
                    _ownRequests.RemoveAt(i);
                    CountReleased();
                }
                else if (request == released)
                {
                    _ownRequests.RemoveAt(i);
                }
            }
        }

        private void CountReleased()
        {
            if (Interlocked.Decrement(ref _liveRequests) == 0 && _disposed)
            {
                _released.TrySetResult();
            }
        }

        /// <summary>
        /// Disposes the model without blocking: new runs throw <see cref="ObjectDisposedException"/>, runs in flight
        /// are stopped at their next operator (they end with <see cref="ObjectDisposedException"/>), every request is
        /// released as soon as it is not running, and the session once no request uses it. Views of synchronous
        /// results throw from now on; owned results (<c>RunAsync</c>) stay readable. Harmless when called again.
        /// </summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Interlocked.MemoryBarrier(); // pairs with the run's state change: either it sees the model disposed, or this sees it running
            Pool.Dispose();
            foreach (InferRequest request in OwnRequests())
            {
                request.Dispose(StaleReason.ModelDisposed);
            }

            lock (_reloadLock)
            {
                _version.Retire(); // its sessions are freed once the last binding on them is
            }

            ModelMetrics.Unregister(this);
            if (Volatile.Read(ref _liveRequests) == 0)
            {
                _released.TrySetResult();
            }

            GC.SuppressFinalize(this);
        }

        /// <summary>Disposes the model (see <see cref="Dispose"/>) and completes once every run in flight has ended and native state is released.</summary>
        public ValueTask DisposeAsync()
        {
            Dispose();
            return new ValueTask(_released.Task);
        }

        /// <summary>Throws <see cref="ObjectDisposedException"/> once the model is disposed or closing.</summary>
        protected void ThrowIfDisposed()
        {
            if (RefusesRuns)
            {
                throw Refusal();
            }
        }

        /// <summary>Why a new run is refused: the model was disposed, or is closing.</summary>
        internal ObjectDisposedException Refusal() => new ObjectDisposedException(GetType().Name,
            _disposed ? $"Model '{Signature.ModelName}' was disposed." : $"Model '{Signature.ModelName}' is closing: it takes no new runs.");

        /// <summary>
        /// Closes the model gracefully (a host stopping): new runs are refused at once (<see cref="ObjectDisposedException"/>),
        /// runs in flight get up to <paramref name="gracePeriod"/> to finish, then the model is disposed (the rest are
        /// stopped) and the returned task completes once native state is released.
        /// </summary>
        /// <param name="gracePeriod">How long runs in flight may take to finish.</param>
        /// <param name="cancellationToken">Ends the wait early (the model is disposed all the same).</param>
        public async Task CloseAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
        {
            _closing = true;
            Interlocked.MemoryBarrier(); // pairs with a run's state change, as in Dispose
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (RunsInFlight > 0 && clock.Elapsed < gracePeriod && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
            }

            await DisposeAsync().ConfigureAwait(false);
        }

        /// <summary>A run slower than <see cref="ModelOptions.SlowRunThreshold"/> ended.</summary>
        internal void OnSlowRun(TimeSpan duration)
        {
            try
            {
                _options.OnSlowRun?.Invoke(this, duration);
            }
            catch (Exception)
            {
                // A report must not fail the run (or the thread-pool thread it ends on).
            }
        }

        /// <summary>The caller's own requests still alive (the ones collected without Dispose are counted as released).</summary>
        private List<InferRequest> OwnRequests()
        {
            var alive = new List<InferRequest>();
            lock (_ownRequests)
            {
                PruneOwnRequestsLocked(released: null);
                foreach (WeakReference<InferRequest> reference in _ownRequests)
                {
                    if (reference.TryGetTarget(out InferRequest? request))
                    {
                        alive.Add(request);
                    }
                }
            }

            return alive;
        }
    }
}
