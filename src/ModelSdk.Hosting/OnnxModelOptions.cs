using System;

namespace ModelSdk.Hosting
{
    /// <summary>
    /// How a model is served, bound from configuration (for example the section <c>Models:Digits</c>) or set in code:
    /// where its file is and how it is reloaded, next to the runtime's own settings (<see cref="ModelOptions"/>:
    /// threads, optimization level, execution mode, input modes, pool sizes, slow runs). Every setting is checked
    /// when the host starts; a bad value stops it with a message naming the model and the setting.
    /// </summary>
    /// <remarks>
    /// <code language="json">
    /// "Models": {
    ///   "Digits": {
    ///     "Path": "models/digits.onnx",
    ///     "WatchForChanges": true,
    ///     "WarmUp": true,
    ///     "IntraOpNumThreads": 1,
    ///     "GraphOptimizationLevel": "ORT_ENABLE_ALL",
    ///     "MaxIdleRequests": 4
    ///   }
    /// }
    /// </code>
    /// </remarks>
    public sealed class OnnxModelOptions : ModelOptions
    {
        /// <summary>
        /// The model file. Relative paths are taken from the application's base directory, where the build copies
        /// <c>OnnxModel</c> items; null (the default) serves the file the class was generated from.
        /// </summary>
        public string? Path { get; set; }

        /// <summary>Reload the model when the file changes (debounced; see <see cref="ReloadDebounce"/>). Default false.</summary>
        public bool WatchForChanges { get; set; }

        /// <summary>How long the file must stay unchanged before it is reloaded (writers often write in several steps). Default 500 ms.</summary>
        public TimeSpan ReloadDebounce { get; set; } = TimeSpan.FromMilliseconds(500);

        /// <summary>
        /// Run the model once on zeros of its declared shape when it is loaded and at each reload (before the new
        /// version serves), so that the first request does not pay for ONNX Runtime's first run. Default false.
        /// </summary>
        public bool WarmUp { get; set; }

        /// <summary>
        /// When the model can't be loaded at startup: true (the default) stops the host with the reason; false lets it
        /// start without the model (the health check says Unhealthy, resolving the model throws) and load it when the file
        /// changes (with <see cref="WatchForChanges"/>) or on <see cref="IModelReloader{TModel}.ReloadAsync"/>.
        /// </summary>
        public bool RequiredAtStartup { get; set; } = true;

        /// <summary>How long stopping the host waits for runs in flight before the model is disposed. Default 30 s.</summary>
        public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// How the model's dynamic batcher batches (its <c>Batching</c> section: MaxBatchSize, MaxDelay, PreferredBatchSizes,
        /// MaxQueueLength, QueueFullMode, Jobs), for a batcher registered with <c>AddOnnxModelBatcher</c>.
        /// </summary>
        public BatchingOptions Batching { get; set; } = new BatchingOptions();

        /// <summary>The runtime options these settings make: a copy, with slow runs also logged when <see cref="ModelOptions.SlowRunThreshold"/> is set.</summary>
        internal ModelOptions ToModelOptions(Action<CompiledModel, TimeSpan>? logSlowRun) => new ModelOptions(this)
        {
            OnSlowRun = SlowRunThreshold is null ? OnSlowRun : logSlowRun + OnSlowRun,
        };

        /// <summary>The file to serve: <see cref="Path"/>, or the class's own, from the application's base directory.</summary>
        internal string ResolvePath(string defaultModelPath) =>
            System.IO.Path.GetFullPath(System.IO.Path.Combine(AppContext.BaseDirectory, Path ?? defaultModelPath));
    }
}
