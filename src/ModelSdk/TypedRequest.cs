using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace ModelSdk
{
    /// <summary>
    /// The base of a generated model's typed request (<c>Model.Request</c>): one inference request of
    /// your own, run synchronously (<c>Infer</c>) or started asynchronously and waited for, like
    /// OpenVINO's <c>InferRequest</c>. Generated classes add the typed inputs and outputs.
    /// </summary>
    /// <typeparam name="TSelf">The generated request type.</typeparam>
    /// <typeparam name="TResult">The generated result type.</typeparam>
    public abstract class TypedRequest<TSelf, TResult> : IDisposable
        where TSelf : TypedRequest<TSelf, TResult>
    {
        /// <summary>Wraps an untyped request.</summary>
        protected TypedRequest(InferRequest request)
        {
            Untyped = request ?? throw new ArgumentNullException(nameof(request));
        }

        /// <summary>The untyped request underneath (by-index and by-name access, for tools).</summary>
        public InferRequest Untyped { get; }

        /// <summary>How <c>Infer</c> passes inputs: shared in place (default) or copied.</summary>
        public InputMode InputMode
        {
            get => Untyped.InputMode;
            set => Untyped.InputMode = value;
        }

        /// <summary>How inputs of asynchronous runs are passed: copied (default) or shared (then they must not change until the run completes).</summary>
        public InputMode AsyncInputMode
        {
            get => Untyped.AsyncInputMode;
            set => Untyped.AsyncInputMode = value;
        }

        /// <summary>True while an asynchronous run is in progress.</summary>
        public bool IsRunning => Untyped.IsRunning;

        /// <summary>The last asynchronous run's exception, or null.</summary>
        public Exception? Error => Untyped.Error;

        /// <summary>The outputs of the last run; rethrows that run's exception if it failed.</summary>
        public TResult Result
        {
            get
            {
                if (Untyped.Error is Exception error)
                {
                    ExceptionDispatchInfo.Capture(error).Throw();
                }

                return CreateResult(Untyped);
            }
        }

        /// <summary>Starts the run of the staged inputs on the thread pool; the task completes with the run.</summary>
        /// <exception cref="InvalidOperationException">The request is still running (REQUEST_BUSY).</exception>
        public Task StartAsync(CancellationToken cancellationToken = default) => Untyped.StartAsync(cancellationToken);

        /// <summary>Blocks until the current run (if any) completes.</summary>
        public void Wait() => Untyped.Wait();

        /// <summary>Waits up to <paramref name="timeout"/>; true only if the run has completed.</summary>
        public bool Wait(TimeSpan timeout) => Untyped.Wait(timeout);

        /// <summary>Waits asynchronously for the current run (if any); the run's error is in <see cref="Error"/>.</summary>
        public Task WaitAsync(CancellationToken cancellationToken = default) => Untyped.WaitAsync(cancellationToken);

        /// <summary>Asks the running inference to stop; its task ends as cancelled.</summary>
        public void Cancel() => Untyped.Cancel();

        /// <summary>Calls <paramref name="callback"/> (on a thread-pool thread) when each asynchronous run completes.</summary>
        public void SetCallback(Action<TSelf>? callback) =>
            Untyped.SetCallback(callback is null ? null : (_, _) => callback((TSelf)this));

        /// <summary>Releases the request's buffers and native state.</summary>
        public void Dispose() => Untyped.Dispose();

        /// <summary>Wraps the request's last outputs in the generated result type.</summary>
        protected abstract TResult CreateResult(InferRequest request);
    }
}
