using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using System.Numerics.Tensors;
using System.Threading.Tasks.Sources;

namespace ModelSdk
{
    /// <summary>Asynchronous runs: the inference runs on a .NET thread-pool thread, never the caller's, and its completion never runs user code on an ONNX Runtime thread.</summary>
    /// <summary>Receives the completion of an asynchronous run (used by <c>RunAsync</c>).</summary>
    internal interface IRunCompletion
    {
        void OnRunCompleted(InferRequest request, Exception? error);
    }

    public sealed partial class InferRequest : IThreadPoolWorkItem
    {
        private readonly object _signalLock = new object();
        private readonly ManualResetEventSlim _done = new ManualResetEventSlim(initialState: true);
        private IRunCompletion? _completionTarget;
        private TaskCompletionSource<InferRequest>? _runTask;
        private Exception? _error;
        private CancellationToken _cancellationToken;
        private CancellationTokenRegistration _cancellationRegistration;
        private bool _running;
        private bool _terminateRequested;
        private Action<InferRequest, object?>? _callback;
        private object? _callbackState;
        private Action<object?>? _completionHook;

        [ThreadStatic]
        private static InferRequest? t_completing;
        private object? _completionHookState;

        /// <summary>True from the start of an asynchronous run until it has completed.</summary>
        public bool IsRunning => Volatile.Read(ref _running);

        /// <summary>The exception of the last asynchronous run, or null when it succeeded.</summary>
        public Exception? Error => _error;

        /// <summary>
        /// Called when an asynchronous run completes (successfully or not), on a .NET thread-pool thread,
        /// before waiters are released. An exception it throws is reported as the run's error.
        /// </summary>
        public void SetCallback(Action<InferRequest, object?>? callback, object? state = null)
        {
            ThrowIfBusy();
            _callback = callback;
            _callbackState = state;
        }

        /// <summary>
        /// Stages an input for the next asynchronous run (see <see cref="StartAsync"/>). In
        /// <see cref="InputMode.Copy"/> (the default for asynchronous runs) it is copied now; in
        /// <see cref="InputMode.Shared"/> it is pinned and read in place: it must not change until the run completes.
        /// </summary>
        public unsafe void StageInput<T>(int index, InputMemory<T> input)
        {
            ThrowIfBusy();
            if ((uint)index >= (uint)_inputs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{_signature.ModelName}' has {_inputs.Length} inputs.");
            }

            InputSlot slot = _inputs[index];
            slot.EndStaging();
            Tensor<T>? tensor = input.Tensor;
            if (tensor != null)
            {
                bool share = AsyncInputMode == InputMode.Shared && tensor.IsDense && tensor.IsPinned && typeof(T) != typeof(string);
                Stage(index, (TensorInput<T>)tensor, copy: !share);
                if (share)
                {
                    slot.PinnedData = (IntPtr)Unsafe.AsPointer(ref tensor.GetPinnableReference());
                    slot.KeepAlive = tensor;
                }

                return;
            }

            TensorInput<T> view = input.IsNull ? (T[]?)null : input.Shape != null ? new TensorInput<T>(input.Data.Span, input.Shape) : new TensorInput<T>(input.Data.Span);
            bool shared = AsyncInputMode == InputMode.Shared && typeof(T) != typeof(string);
            Stage(index, view, copy: !shared);
            if (shared)
            {
                slot.Pin = input.Data.Pin();
                slot.PinnedData = (IntPtr)slot.Pin.Pointer;
                slot.KeepAlive = null;
                if (slot.PinnedData == IntPtr.Zero)
                {
                    slot.PinnedData = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(EmptyData));
                }
            }
        }

        /// <summary>How inputs staged for asynchronous runs are passed: copied (default) or shared.</summary>
        public InputMode AsyncInputMode { get; set; } = InputMode.Copy;

        /// <summary>
        /// Starts the staged run on the thread pool and returns at once; the returned task completes with
        /// the run. Inputs are validated and bound before this returns (errors throw here).
        /// </summary>
        /// <exception cref="InvalidOperationException">The request is already running (REQUEST_BUSY).</exception>
        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            var completion = new TaskCompletionSource<InferRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
            Start(cancellationToken, completion, null);
            return completion.Task;
        }

        /// <summary>Starts the staged run; completion is observed through the callback and <see cref="Error"/>.</summary>
        internal void StartDetached(CancellationToken cancellationToken) => Start(cancellationToken, null, null);

        /// <summary>Called after each asynchronous run has fully completed and the request is idle again (queues hand the job out then).</summary>
        internal void SetCompletionHook(Action<object?> hook, object? state)
        {
            _completionHook = hook;
            _completionHookState = state;
        }

        /// <summary>Starts the staged run; <paramref name="target"/> is told when it completes (no allocation).</summary>
        internal void StartWithCompletion(CancellationToken cancellationToken, IRunCompletion target) => Start(cancellationToken, null, target);

        private void Start(CancellationToken cancellationToken, TaskCompletionSource<InferRequest>? completion, IRunCompletion? target)
        {
            cancellationToken.ThrowIfCancellationRequested();
            BeginRun();
            try
            {
                PrepareRun(0);
                BindCopiedInputs(0);
            }
            catch
            {
                EndRun();
                throw;
            }

            lock (_signalLock)
            {
                _done.Reset();
                _error = null;
                _running = true;
                _runTask = completion;
                _completionTarget = target;
                _cancellationToken = cancellationToken;
            }

            if (cancellationToken.CanBeCanceled)
            {
                _cancellationRegistration = cancellationToken.UnsafeRegister(static state => ((InferRequest)state!).Cancel(), this);
            }

            _model.Scheduler.Schedule(this);
        }

        /// <summary>Runs on a thread-pool thread: the inference, then completion.</summary>
        void IThreadPoolWorkItem.Execute()
        {
            Exception? error = null;
            try
            {
                Execute();
            }
            catch (Exception ex)
            {
                error = ex;
            }

            _cancellationRegistration.Dispose();
            _cancellationRegistration = default;
            lock (_signalLock)
            {
                if (_terminateRequested)
                {
                    _runOptions.Terminate = false; // the flag is sticky: clear it so the next run is not stopped
                    _terminateRequested = false;
                    if (error != null || _cancellationToken.IsCancellationRequested)
                    {
                        error = new OperationCanceledException($"The run of model '{_signature.ModelName}' was cancelled.", error, _cancellationToken);
                    }
                }
            }

            ReleaseInputs();
            if (_callback != null)
            {
                _error = error;
                t_completing = this;
                try
                {
                    _callback(this, _callbackState);
                }
                catch (Exception ex)
                {
                    error = error is null ? ex : new AggregateException(error, ex);
                }
                finally
                {
                    t_completing = null;
                }
            }

            Complete(error);
        }

        private void Complete(Exception? error)
        {
            TaskCompletionSource<InferRequest>? task;
            IRunCompletion? target;
            lock (_signalLock)
            {
                _error = error;
                _running = false;
                task = _runTask;
                _runTask = null;
                target = _completionTarget;
                _completionTarget = null;
                BecomeIdle();
                _done.Set();
            }

            target?.OnRunCompleted(this, error);

            try
            {
                _completionHook?.Invoke(_completionHookState);
            }
            catch (Exception ex)
            {
                // Nothing may escape a thread-pool work item (it would end the process): keep it as the run's error.
                _error ??= ex;
            }
            if (task != null)
            {
                if (error is OperationCanceledException canceled)
                {
                    task.TrySetCanceled(canceled.CancellationToken);
                }
                else if (error != null)
                {
                    task.TrySetException(error);
                }
                else
                {
                    task.TrySetResult(this);
                }
            }
        }

        /// <summary>Asks a running inference to stop (between operators). No effect when nothing runs.</summary>
        public void Cancel()
        {
            lock (_signalLock)
            {
                if (_running && !_terminateRequested)
                {
                    _terminateRequested = true;
                    _runOptions.Terminate = true;
                }
            }
        }

        /// <summary>Blocks until the current asynchronous run (if any) has completed.</summary>
        public void Wait() => _done.Wait();

        /// <summary>Waits up to <paramref name="timeout"/>; true only if the run has really completed.</summary>
        public bool Wait(TimeSpan timeout) => _done.Wait(timeout);

        /// <summary>Waits asynchronously for the current run (if any) to complete; does not throw the run's error (see <see cref="Error"/>).</summary>
        public Task WaitAsync(CancellationToken cancellationToken = default)
        {
            if (_done.IsSet)
            {
                return Task.CompletedTask;
            }

            return WaitHandleAsync(cancellationToken);
        }

        private async Task WaitHandleAsync(CancellationToken cancellationToken)
        {
            var signaled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            RegisteredWaitHandle registration = ThreadPool.UnsafeRegisterWaitForSingleObject(
                _done.WaitHandle, static (state, _) => ((TaskCompletionSource)state!).TrySetResult(), signaled, Timeout.Infinite, executeOnlyOnce: true);
            try
            {
                await signaled.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                registration.Unregister(null);
            }
        }
    }
}
