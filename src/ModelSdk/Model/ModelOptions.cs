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

    /// <summary>
    /// Options for loading a model: ONNX Runtime session settings and ModelSdk's defaults. A model keeps a copy of
    /// the options it was loaded with (<see cref="CompiledModel.Options"/>), so changing them later changes nothing.
    /// </summary>
    public class ModelOptions
    {
        /// <summary>The defaults.</summary>
        public ModelOptions()
        {
        }

        /// <summary>A copy of <paramref name="other"/>'s settings (those of this class; a derived class's own are not copied).</summary>
        /// <param name="other">The options to copy.</param>
        public ModelOptions(ModelOptions other)
        {
            ArgumentNullException.ThrowIfNull(other);
            IntraOpNumThreads = other.IntraOpNumThreads;
            InterOpNumThreads = other.InterOpNumThreads;
            GraphOptimizationLevel = other.GraphOptimizationLevel;
            ExecutionMode = other.ExecutionMode;
            InputMode = other.InputMode;
            AsyncInputMode = other.AsyncInputMode;
            PruneUnselectedOutputs = other.PruneUnselectedOutputs;
            MaxIdleRequests = other.MaxIdleRequests;
            IdleRequestTimeout = other.IdleRequestTimeout;
            SlowRunThreshold = other.SlowRunThreshold;
            OnSlowRun = other.OnSlowRun;
            ConfigureSession = other.ConfigureSession;
        }

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
        /// How many requests the model keeps at rest for its own runs (<c>Run</c>, <c>RunAsync</c>) beyond those
        /// in use; default one per core (at least 2). More are created under load and released again by a timer
        /// once unused. Each holds ONNX Runtime binding state and one buffer per output.
        /// </summary>
        public int MaxIdleRequests { get; set; } = Math.Max(2, Environment.ProcessorCount);

        /// <summary>
        /// How long a request may stay unused before it is released, even within <see cref="MaxIdleRequests"/>
        /// (default 30 s; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> keeps them).
        /// </summary>
        public TimeSpan IdleRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// Runs that take longer than this are reported to <see cref="OnSlowRun"/> (null, the default: not timed
        /// for this; the <c>modelsdk.run.duration</c> metric times every run while someone listens).
        /// </summary>
        public TimeSpan? SlowRunThreshold { get; set; }

        /// <summary>Called, on the thread that ran it, with the model and the duration of a run slower than <see cref="SlowRunThreshold"/>; exceptions it throws are ignored.</summary>
        public Action<CompiledModel, TimeSpan>? OnSlowRun { get; set; }

        /// <summary>
        /// Called with the session options before the session is created: the place to add execution
        /// providers (e.g. <c>o =&gt; o.AppendExecutionProvider_CUDA()</c>) or any other ONNX Runtime setting.
        /// </summary>
        public Action<SessionOptions>? ConfigureSession { get; set; }

        /// <summary>Checks the options (loading a model does too); the messages name the setting and what it takes.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; <see cref="ArgumentException.ParamName"/> names it.</exception>
        public void Validate()
        {
            if (!Enum.IsDefined(GraphOptimizationLevel))
            {
                throw new ArgumentOutOfRangeException(nameof(GraphOptimizationLevel), GraphOptimizationLevel, "GraphOptimizationLevel takes " + string.Join(", ", Enum.GetNames<GraphOptimizationLevel>()) + ".");
            }

            if (!Enum.IsDefined(ExecutionMode))
            {
                throw new ArgumentOutOfRangeException(nameof(ExecutionMode), ExecutionMode, "ExecutionMode takes " + string.Join(", ", Enum.GetNames<ExecutionMode>()) + ".");
            }

            if (!Enum.IsDefined(InputMode) || !Enum.IsDefined(AsyncInputMode))
            {
                string name = Enum.IsDefined(InputMode) ? nameof(AsyncInputMode) : nameof(InputMode);
                throw new ArgumentOutOfRangeException(name, name == nameof(InputMode) ? InputMode : AsyncInputMode, name + " takes Shared or Copy.");
            }

            if (IntraOpNumThreads < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(IntraOpNumThreads), IntraOpNumThreads, "IntraOpNumThreads can't be negative (0 lets ONNX Runtime choose).");
            }

            if (InterOpNumThreads < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(InterOpNumThreads), InterOpNumThreads, "InterOpNumThreads can't be negative (0 lets ONNX Runtime choose).");
            }

            if (MaxIdleRequests < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxIdleRequests), MaxIdleRequests, "MaxIdleRequests can't be negative.");
            }

            if (SlowRunThreshold is TimeSpan slow && slow < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(SlowRunThreshold), slow, "SlowRunThreshold can't be negative.");
            }

            if (IdleRequestTimeout < TimeSpan.Zero && IdleRequestTimeout != System.Threading.Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(IdleRequestTimeout), IdleRequestTimeout, "IdleRequestTimeout can't be negative (use Timeout.InfiniteTimeSpan to keep idle requests).");
            }
        }

        /// <summary>A copy, so that a model keeps the options it was loaded with whatever the caller changes later.</summary>
        internal ModelOptions Clone() => new ModelOptions(this);

        internal SessionOptions CreateSessionOptions(string? externalDataFolder)
        {
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

                if (externalDataFolder != null)
                {
                    // The session is created from the bytes ModelSdk read; weights stored beside the file are found here.
                    Native.OrtTensors.AddConfigEntry(options, "session.model_external_initializers_file_folder_path", externalDataFolder);
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
