using System;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk
{
    /// <summary>How a request passes an input buffer to ONNX Runtime.</summary>
    public enum InputMode
    {
        /// <summary>
        /// ONNX Runtime reads the caller's memory in place (pinned for the run): no copy, whatever the size.
        /// The buffer must not change until the run completes.
        /// </summary>
        Shared,

        /// <summary>The input is copied into a buffer the request owns; the caller may reuse its buffer at once.</summary>
        Copy,
    }

    /// <summary>Options for loading a model: ONNX Runtime session settings and ModelSdk's defaults.</summary>
    public sealed class ModelOptions
    {
        /// <summary>Threads ONNX Runtime uses inside one operator; 0 lets ONNX Runtime choose.</summary>
        public int IntraOpNumThreads { get; set; }

        /// <summary>Threads ONNX Runtime uses across operators (parallel execution mode); 0 lets ONNX Runtime choose.</summary>
        public int InterOpNumThreads { get; set; }

        /// <summary>Graph optimizations applied when the model is loaded.</summary>
        public GraphOptimizationLevel GraphOptimizationLevel { get; set; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

        /// <summary>Sequential (default) or parallel execution of independent operators.</summary>
        public ExecutionMode ExecutionMode { get; set; } = ExecutionMode.ORT_SEQUENTIAL;

        /// <summary>How the model's direct <c>Run</c> passes inputs: <see cref="InputMode.Shared"/> (default) reads the caller's memory in place.</summary>
        public InputMode InputMode { get; set; } = InputMode.Shared;

        /// <summary>
        /// How runs that outlive the call (<c>RunAsync</c>, requests started asynchronously, queues) pass inputs:
        /// <see cref="InputMode.Copy"/> (default) lets the caller reuse its buffer at once; <see cref="InputMode.Shared"/>
        /// reads it in place, so it must not change until the run completes.
        /// </summary>
        public InputMode AsyncInputMode { get; set; } = InputMode.Copy;

        /// <summary>
        /// When a run asks for only some outputs, run a copy of the model pruned to the nodes those outputs
        /// need (default true). ONNX Runtime runs every node whatever outputs are asked for, so without it an
        /// unwanted output still costs its computation. Each distinct set of outputs gets its own session,
        /// made on first use, which loads the weights it needs again: set false to keep a single session.
        /// </summary>
        public bool PruneUnselectedOutputs { get; set; } = true;

        /// <summary>
        /// Called with the session options before the session is created: the place to add execution
        /// providers (e.g. <c>o =&gt; o.AppendExecutionProvider_CUDA()</c>) or any other ONNX Runtime setting.
        /// </summary>
        public Action<SessionOptions>? ConfigureSession { get; set; }

        internal SessionOptions CreateSessionOptions()
        {
            if (IntraOpNumThreads < 0 || InterOpNumThreads < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(IntraOpNumThreads), "Thread counts can't be negative (0 lets ONNX Runtime choose).");
            }

            var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel,
                ExecutionMode = ExecutionMode,
            };
            try
            {
                if (IntraOpNumThreads > 0)
                {
                    options.IntraOpNumThreads = IntraOpNumThreads;
                }

                if (InterOpNumThreads > 0)
                {
                    options.InterOpNumThreads = InterOpNumThreads;
                }

                ConfigureSession?.Invoke(options);
                return options;
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }
    }
}
