using System;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>
    /// Asynchronous runs: the inference runs on a .NET thread-pool thread (never the caller's, never an ONNX
    /// Runtime thread), then ends through the same <see cref="Finish"/> as a synchronous run, and only then
    /// are the run's observer, callback and waiters told, in that order.
    /// </summary>
    public sealed unsafe partial class InferRequest
    {
        [ThreadStatic]
        private static InferRequest? t_completing;

        private readonly object _cancelLock = new object();
        private long _cancelEpoch;                  // bumped by every Cancel before it looks at the state
        private long _seenCancelEpoch;
        private volatile bool _terminated;          // ONNX Runtime's terminate flag is set for this run
        private RunWorkItem? _work;
        private IRunObserver? _observer;            // who started the run (RunAsync's result, a queue's job), told when it ends
        private TaskCompletionSource? _completion;  // the last asynchronous run's completion, for waiters (caller's own requests)
        private TaskCompletionSource? _runCompletion; // the same, for the run in flight only
        private CancellationToken _token;
        private CancellationTokenRegistration _registration;
        private Action<InferRequest, object?>? _callback;
        private object? _callbackState;
        private int _lastOutcome = IdleCode;        // Completed, Faulted or Idle: what staging inputs does not change

        /// <summary>
        /// Called when an asynchronous run of this request (<see cref="StartAsync"/>) ends, successfully or not,
        /// on a .NET thread-pool thread, before waiters are released. It may read the outputs, start the request
        /// again, or dispose it. An exception it throws becomes the run's error.
        /// </summary>
        public void SetCallback(Action<InferRequest, object?>? callback, object? state = null)
        {
            int from = Enter();
            try
            {
                _callback = callback;
                _callbackState = state;
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>
        /// Stages an input for the next asynchronous run (see <see cref="StartAsync"/>). In
        /// <see cref="InputMode.Copy"/> (the default for asynchronous runs) it is copied now; in
        /// <see cref="InputMode.Shared"/> it is pinned and read in place: it must not change until the run completes.
        /// </summary>
        public void StageInput<T>(int index, InputMemory<T> input)
        {
            CheckInputIndex(index);
            Enter();
            try
            {
                StageMemory(index, input);
            }
            finally
            {
                Exit(StagedCode);
            }
        }

        /// <summary>Stages an input of a request the caller holds (a pooled request rented by <c>RunAsync</c>).</summary>
        internal void StageHeld<T>(int index, InputMemory<T> input) => StageMemory(index, input);

        /// <summary>Stages a sequence, map or optional input of a request the caller holds (copied now).</summary>
        internal void StageHeld(int index, InputArg value) => Stage(index, value, copy: true);

        private unsafe void StageMemory<T>(int index, InputMemory<T> input)
        {
            InputSlot slot = _inputs[index];
            bool shareable = AsyncInputMode == InputMode.Shared && typeof(T) != typeof(string);
            Tensor<T>? tensor = input.Tensor;
            if (tensor != null)
            {
                bool share = shareable && tensor.IsDense && tensor.IsPinned;
                Stage(index, (TensorInput<T>)tensor, copy: !share);
                if (share)
                {
                    slot.PinnedData = (IntPtr)Unsafe.AsPointer(ref tensor.GetPinnableReference());
                    slot.KeepAlive = tensor;
                }

                return;
            }

            TensorInput<T> view = input.IsNull ? (T[]?)null
                : input.Shape != null ? new TensorInput<T>(input.Data.Span, input.Shape)
                : new TensorInput<T>(input.Data.Span);
            Stage(index, view, copy: !shareable);
            if (shareable)
            {
                slot.Pin = input.Data.Pin();
                slot.PinnedData = (IntPtr)slot.Pin.Pointer;
                if (slot.PinnedData == IntPtr.Zero)
                {
                    slot.PinnedData = EmptyAddress;
                }
            }
        }

        /// <summary>
        /// Starts the staged run on the thread pool and returns at once; the returned task completes with the
        /// run (after the callback). Inputs are validated and bound before this returns (errors throw here).
        /// </summary>
        /// <exception cref="InvalidOperationException">The request is already running (REQUEST_BUSY).</exception>
        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            int from = Enter();
            if (cancellationToken.IsCancellationRequested)
            {
                AbandonStart(from);
                return Task.FromCanceled(cancellationToken);
            }

            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                StartHeld(0, default, cancellationToken, observer: null, completion);
            }
            catch
            {
                AbandonStart(from);
                throw;
            }

            return completion.Task;
        }

        /// <summary>Starts the staged run for a queue's job: <paramref name="observer"/> is told when it ends, then waiters.</summary>
        internal void StartForQueue(CancellationToken cancellationToken, IRunObserver observer)
        {
            int from = Enter();
            try
            {
                StartHeld(0, default, cancellationToken, observer, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
            catch
            {
                AbandonStart(from);
                throw;
            }
        }

        /// <summary>Starts a run on a request the caller holds; <paramref name="observer"/> (if any) is told when it ends.</summary>
        internal void StartHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, CancellationToken cancellationToken, IRunObserver? observer, TaskCompletionSource? completion)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfModelDisposed();
            if (outputs != 0)
            {
                SelectCore(outputs);
            }

            ApplySymbols(symbols);
            Prepare(0);
            for (int i = 0; i < _inputs.Length; i++)
            {
                BindInput(i, default); // asynchronous runs copy strings when they are staged
            }

            _observer = observer;
            _token = cancellationToken;
            _runCompletion = completion;
            if (completion != null)
            {
                Volatile.Write(ref _completion, completion);
            }

            BeginRunning();
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static state => ((InferRequest)state!).Cancel(), this);
            }

            _model.Scheduler.Schedule(_work ??= new RunWorkItem(this));
        }

        /// <summary>A start that failed before the run: the inputs are let go and the request rests as before.</summary>
        internal void AbandonStart(int from)
        {
            foreach (InputSlot slot in _inputs)
            {
                slot.EndStaging();
            }

            _shapes.Clear();
            _observer = null;
            Exit(from == StagedCode ? _lastOutcome : from);
        }

        /// <summary>Runs on a thread-pool thread: the inference, then the one completion path.</summary>
        private void ExecuteScheduled()
        {
            _startTimestamp = ObserveRuns ? Stopwatch.GetTimestamp() : 0;
            Exception? error = null;
            try
            {
                if (_model.IsDisposed)
                {
                    throw _model.Refusal(); // (a closing model lets runs already started finish)
                }

                Execute();
            }
            catch (Exception ex)
            {
                error = ex;
            }

            _registration.Dispose(); // from here on no cancellation callback of this run runs
            _registration = default;
            if (Finish(error))
            {
                error = new ObjectDisposedException(_model.IsDisposed ? _model.GetType().Name : nameof(InferRequest),
                    $"The run of model '{_signature.ModelName}' ended because " + (_model.IsDisposed ? "the model" : "its request") + " was disposed.");
            }

            Notify(error);
        }

        /// <summary>Tells whoever waits for the run that it ended: its observer, or the callback; then the waiters.</summary>
        private void Notify(Exception? error)
        {
            IRunObserver? observer = _observer;
            _observer = null;
            TaskCompletionSource? completion = _runCompletion; // taken now: the callback may start the next run
            _runCompletion = null;
            t_completing = this;
            try
            {
                if (observer != null)
                {
                    observer.OnRunCompleted(this, error);
                }
                else if (_callback is Action<InferRequest, object?> callback)
                {
                    try
                    {
                        callback(this, _callbackState);
                    }
                    catch (Exception ex)
                    {
                        error = error is null ? ex : new AggregateException(error, ex);
                        Volatile.Write(ref _error, error);
                    }
                }
            }
            finally
            {
                t_completing = null;
            }

            if (completion is null)
            {
                return;
            }

            if (error is OperationCanceledException canceled)
            {
                completion.TrySetCanceled(canceled.CancellationToken);
            }
            else if (error != null)
            {
                completion.TrySetException(error);
            }
            else
            {
                completion.TrySetResult();
            }
        }

        /// <summary>Asks a running inference to stop (between operators); it ends with <see cref="OperationCanceledException"/>. No effect when nothing runs.</summary>
        public void Cancel()
        {
            Interlocked.Increment(ref _cancelEpoch); // before looking at the state: see ResetTerminateIfCancelled
            lock (_cancelLock)
            {
                if (IsRunning && !_terminated)
                {
                    bool added = false;
                    try
                    {
                        _runOptions.DangerousAddRef(ref added);

                        // Marked before ONNX Runtime sees the flag: the run may stop and check the mark before this
                        // thread gets past the native call.
                        _terminated = true;
                        Interlocked.MemoryBarrier();
                        OrtApi.Check(OrtApi.RunOptionsSetTerminate(_runOptionsHandle));
                        TerminateSetForTests?.Invoke(this);
                    }
                    catch (ObjectDisposedException)
                    {
                        _terminated = false; // released meanwhile: the run is over, nothing was set
                    }
                    finally
                    {
                        if (added)
                        {
                            _runOptions.DangerousRelease();
                        }
                    }
                }
            }
        }

        private void Terminate() => Cancel();

        /// <summary>Tests only: called right after ONNX Runtime's terminate flag is set for a run (to hold a race window open).</summary>
        internal static Action<InferRequest>? TerminateSetForTests;

        /// <summary>
        /// ONNX Runtime's terminate flag is sticky: clear it before a run if anything was cancelled since the
        /// last check. A Cancel bumps the epoch before it reads the state, so one that set the flag for an
        /// earlier run is always seen here, and one that comes later sees this run's state.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void ResetTerminateIfCancelled()
        {
            if (Volatile.Read(ref _cancelEpoch) != _seenCancelEpoch)
            {
                ResetTerminate();
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)] // its native call would otherwise cost every run a P/Invoke frame
        private void ResetTerminate()
        {
            lock (_cancelLock)
            {
                _seenCancelEpoch = Volatile.Read(ref _cancelEpoch);
                if (_terminated)
                {
                    OrtApi.Check(OrtApi.RunOptionsUnsetTerminate(_runOptionsHandle));
                    _terminated = false;
                }
            }
        }

        private OperationCanceledException Cancelled(Exception inner) =>
            new OperationCanceledException($"The run of model '{_signature.ModelName}' was cancelled.", inner, _token);

        /// <summary>Blocks until the current asynchronous run (if any) and its callback have completed.</summary>
        public void Wait() => Wait(Timeout.InfiniteTimeSpan);

        /// <summary>Waits up to <paramref name="timeout"/>; true only if the run (and its callback) has really completed.</summary>
        public bool Wait(TimeSpan timeout)
        {
            if (t_completing == this)
            {
                return true; // called from this run's own callback: the run is over
            }

            Task? task = Volatile.Read(ref _completion)?.Task;
            return task is null || task.IsCompleted || ((IAsyncResult)task).AsyncWaitHandle.WaitOne(timeout);
        }

        /// <summary>Waits asynchronously for the current run (if any); does not throw the run's error (see <see cref="Error"/>).</summary>
        public Task WaitAsync(CancellationToken cancellationToken = default)
        {
            Task? task = t_completing == this ? null : Volatile.Read(ref _completion)?.Task;
            if (task is null || task.IsCompleted)
            {
                return Task.CompletedTask;
            }

            Task quiet = task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return quiet.WaitAsync(cancellationToken);
        }

        /// <summary>The scheduler's handle on this request's runs (kept private: nothing else may run it).</summary>
        private sealed class RunWorkItem : IThreadPoolWorkItem
        {
            private readonly InferRequest _request;

            public RunWorkItem(InferRequest request) => _request = request;

            public void Execute() => _request.ExecuteScheduled();
        }
    }
}
