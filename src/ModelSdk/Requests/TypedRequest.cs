using System;
using System.Threading;
using System.Threading.Tasks;

namespace ModelSdk
{
    /// <summary>
    /// The base of a generated model's typed request (<c>Model.Request</c>): one inference request of your
    /// own, run synchronously (<c>Infer</c>) or started asynchronously and waited for, like OpenVINO's
    /// <c>InferRequest</c>. Generated classes add the typed inputs, outputs and <c>Result</c>.
    /// </summary>
    /// <typeparam name="TSelf">The generated request type.</typeparam>
    public abstract class TypedRequest<TSelf> : IDisposable
        where TSelf : TypedRequest<TSelf>
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

        /// <summary>Where the request is in its life.</summary>
        public RequestState State => Untyped.State;

        /// <summary>True while an inference is in progress.</summary>
        public bool IsRunning => Untyped.IsRunning;

        /// <summary>The last run's exception, or null.</summary>
        public Exception? Error => Untyped.Error;

        /// <summary>Starts the run of the staged inputs on the thread pool; the task completes with the run.</summary>
        /// <exception cref="InvalidOperationException">The request is still running (REQUEST_BUSY).</exception>
        public Task StartAsync(CancellationToken cancellationToken = default) => Untyped.StartAsync(cancellationToken);

        /// <summary>Blocks until the current run (if any) and its callback have completed.</summary>
        public void Wait() => Untyped.Wait();

        /// <summary>Waits up to <paramref name="timeout"/>; true only if the run has completed.</summary>
        public bool Wait(TimeSpan timeout) => Untyped.Wait(timeout);

        /// <summary>Waits asynchronously for the current run (if any); the run's error is in <see cref="Error"/>.</summary>
        public Task WaitAsync(CancellationToken cancellationToken = default) => Untyped.WaitAsync(cancellationToken);

        /// <summary>Asks the running inference to stop; its task ends as cancelled.</summary>
        public void Cancel() => Untyped.Cancel();

        /// <summary>Calls <paramref name="callback"/> (on a thread-pool thread) when each asynchronous run completes.</summary>
        public void SetCallback(Action<TSelf>? callback) =>
            Untyped.SetCallback(callback is null ? null : (_, state) => callback((TSelf)state!), this);

        /// <summary>Releases the request's buffers and native state (a run in flight is stopped first; never blocks).</summary>
        public void Dispose() => Untyped.Dispose();

        /// <summary>The outputs of the last run, for the generated <c>Result</c>; rethrows that run's error if it failed.</summary>
        protected RunOutputs LastOutputs => Untyped.Outputs;
    }
}
