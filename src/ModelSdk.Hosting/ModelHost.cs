using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ModelSdk.Hosting
{
    /// <summary>
    /// Serves one model class in a host: loads it when the host starts (or when first resolved, if that comes
    /// first), warms it up, reloads it when its file changes or on demand, reports its health, and closes it
    /// gracefully when the host stops. The model object itself never changes: a reload swaps the version inside
    /// it (<see cref="CompiledModel.Reload(ModelSource, bool)"/>), so the instance injected into a singleton or an
    /// endpoint stays valid across reloads.
    /// </summary>
    internal sealed class ModelHost<TModel> : IHostedService, IModelReloader<TModel>, IDisposable, IAsyncDisposable
        where TModel : CompiledModel, ICompiledModel<TModel>
    {
        private static readonly string ModelName = ModelRegistration<TModel>.ModelName;

        private readonly OnnxModelOptions _settings;
        private readonly ModelRegistration<TModel> _registration;
        private readonly ILogger _logger;
        private readonly string _path;
        private readonly object _loadLock = new object();
        private readonly SemaphoreSlim _reloadGate = new SemaphoreSlim(1, 1);
        private readonly Timer _debounce;
        private TModel? _model;
        private ModelLoadFailure? _lastFailure; // the last load or reload that failed, until one succeeds
        private bool _loadAttempted;
        private FileSystemWatcher? _watcher;
        private volatile bool _stopping;

        public ModelHost(IOptionsMonitor<OnnxModelOptions> options, ModelRegistration<TModel> registration, ILogger<ModelHost<TModel>> logger)
        {
            _settings = options.Get(ModelRegistration<TModel>.OptionsName); // validated (ValidateOnStart) and read once
            _registration = registration;
            _logger = logger;
            _path = _settings.ResolvePath(TModel.DefaultModelPath);
            _debounce = new Timer(static state => ((ModelHost<TModel>)state!).OnFileSettled(), this, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>The model file served.</summary>
        public string FilePath => _path;

        /// <summary>
        /// The model, loaded on first use if the host has not started yet.
        /// </summary>
        /// <exception cref="InvalidOperationException">The model could not be loaded (the message says why; the file is loaded again once it changes).</exception>
        public TModel Model => Volatile.Read(ref _model) ?? LoadOnFirstUse();

        /// <summary>The model if it is loaded, without loading it.</summary>
        public TModel? LoadedModel => Volatile.Read(ref _model);

        /// <summary>The last load or reload that failed, if none succeeded since.</summary>
        public ModelLoadFailure? LastFailure => Volatile.Read(ref _lastFailure);

        /// <summary>True once the host began stopping.</summary>
        public bool IsStopping => _stopping;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _model) is null)
            {
                lock (_loadLock)
                {
                    if (_model is null && !_loadAttempted)
                    {
                        TryLoadLocked();
                    }
                }
            }

            if (_model is null && _settings.RequiredAtStartup)
            {
                throw new InvalidOperationException(FailureMessage(LastFailure?.Error), LastFailure?.Error);
            }

            if (_settings.WatchForChanges)
            {
                Watch();
            }

            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            _stopping = true;
            StopWatching();
            bool entered = false;
            try
            {
                await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false); // a reload in progress ends first
                entered = true;
            }
            catch (OperationCanceledException)
            {
                // Out of time: close all the same.
            }

            try
            {
                TModel? model = Volatile.Read(ref _model);
                if (model != null)
                {
                    Log.Closing(_logger, ModelName, _settings.ShutdownTimeout.TotalSeconds, model.RunsInFlight);
                    await model.CloseAsync(_settings.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                if (entered)
                {
                    _reloadGate.Release();
                }
            }
        }

        public async Task<ModelReloadResult> ReloadAsync(CancellationToken cancellationToken = default)
        {
            await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // Loading parses the file and builds sessions: work for the thread pool, not the caller's context.
                return await Task.Run(ReloadNow, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _reloadGate.Release();
            }
        }

        public void Dispose()
        {
            _stopping = true;
            StopWatching();
            _debounce.Dispose();
            Volatile.Read(ref _model)?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            _stopping = true;
            StopWatching();
            _debounce.Dispose();
            return Volatile.Read(ref _model)?.DisposeAsync() ?? default;
        }

        private TModel LoadOnFirstUse()
        {
            lock (_loadLock)
            {
                if (_model is null && !_loadAttempted && !_stopping)
                {
                    TryLoadLocked();
                }

                return _model ?? throw NotLoaded();
            }
        }

        private Exception NotLoaded() => _stopping
            ? new ObjectDisposedException(typeof(TModel).Name, "Model " + ModelName + " is closing: the host is stopping.")
            : new InvalidOperationException(FailureMessage(LastFailure?.Error), LastFailure?.Error);

        private string FailureMessage(Exception? error) =>
            "Model " + ModelName + " could not be loaded from '" + _path + "' (" + _registration.DescribePath(_settings) + ")" +
            (error is null ? "." : ": " + error.Message);

        /// <summary>The first load: on success the model serves; on failure the reason is kept for health and for the next caller.</summary>
        private void TryLoadLocked()
        {
            _loadAttempted = true;
            var clock = Stopwatch.StartNew();
            try
            {
                TModel model = TModel.Load(ModelSource.FromFile(_path), _settings.ToModelOptions(OnSlowRun));
                if (_settings.WarmUp && !model.WarmUp())
                {
                    Log.WarmUpSkipped(_logger, ModelName);
                }

                Volatile.Write(ref _model, model);
                Volatile.Write(ref _lastFailure, null);
                Log.Loaded(_logger, ModelName, model.Version, _path, clock.ElapsedMilliseconds);
            }
            catch (Exception error) when (error is not OutOfMemoryException) // whatever it was, the host reports it and keeps its state
            {
                Volatile.Write(ref _lastFailure, new ModelLoadFailure(error, DateTimeOffset.UtcNow));
                Log.LoadFailed(_logger, ModelName, _path, error);
            }
        }

        private ModelReloadResult ReloadNow()
        {
            if (_stopping)
            {
                return new ModelReloadResult(ModelReloadOutcome.Failed, _model?.Version ?? 0, NotLoaded());
            }

            TModel? model = Volatile.Read(ref _model);
            if (model is null)
            {
                lock (_loadLock)
                {
                    TryLoadLocked();
                }

                return _model is TModel loaded
                    ? new ModelReloadResult(ModelReloadOutcome.Reloaded, loaded.Version, null)
                    : new ModelReloadResult(ModelReloadOutcome.Failed, 0, LastFailure?.Error);
            }

            int previous = model.Version;
            var clock = Stopwatch.StartNew();
            try
            {
                bool swapped = model.Reload(ModelSource.FromFile(_path), _settings.WarmUp);
                Volatile.Write(ref _lastFailure, null);
                if (swapped)
                {
                    Log.Reloaded(_logger, ModelName, _path, model.Version, clock.ElapsedMilliseconds, previous);
                }
                else
                {
                    Log.Unchanged(_logger, ModelName, _path, model.Version);
                }

                return new ModelReloadResult(swapped ? ModelReloadOutcome.Reloaded : ModelReloadOutcome.Unchanged, model.Version, null);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                if (!_stopping)
                {
                    Volatile.Write(ref _lastFailure, new ModelLoadFailure(error, DateTimeOffset.UtcNow));
                    Log.ReloadFailed(_logger, ModelName, _path, model.Version, error);
                }

                return new ModelReloadResult(ModelReloadOutcome.Failed, model.Version, error);
            }
        }

        private void OnSlowRun(CompiledModel model, TimeSpan duration) =>
            Log.SlowRun(_logger, ModelName, duration.TotalMilliseconds, _settings.SlowRunThreshold.GetValueOrDefault().TotalMilliseconds);

        private void Watch()
        {
            lock (_loadLock)
            {
                if (_stopping || _watcher != null)
                {
                    return;
                }

                var watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(_path)!, System.IO.Path.GetFileName(_path))
                {
                    NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += OnFileEvent;
                watcher.Created += OnFileEvent;
                watcher.Renamed += OnFileEvent;
                watcher.Error += OnWatcherError;
                watcher.EnableRaisingEvents = true;
                _watcher = watcher;
            }

            Log.Watching(_logger, ModelName, _path);
        }

        private void StopWatching()
        {
            lock (_loadLock)
            {
                _watcher?.Dispose();
                _watcher = null;
            }

            try
            {
                _debounce.Change(Timeout.Infinite, Timeout.Infinite);
            }
            catch (ObjectDisposedException)
            {
                // Disposed already: nothing is scheduled.
            }
        }

        // Writers often write a file in several steps: reload once it has been quiet for ReloadDebounce.
        private void OnFileEvent(object sender, FileSystemEventArgs e)
        {
            if (!_stopping)
            {
                try
                {
                    _debounce.Change(_settings.ReloadDebounce, Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException)
                {
                    // Disposed meanwhile: nothing to reload.
                }
            }
        }

        // Events were lost (for example the kernel's queue overflowed): watch again and check the file once.
        private void OnWatcherError(object sender, ErrorEventArgs e)
        {
            Log.WatcherFailed(_logger, ModelName, _path, e.GetException());
            StopWatching();
            if (!_stopping)
            {
                try
                {
                    Watch();
                }
                catch (Exception error) when (error is IOException or ArgumentException or UnauthorizedAccessException)
                {
                    Log.WatcherFailed(_logger, ModelName, _path, error);
                }

                OnFileEvent(sender, new FileSystemEventArgs(WatcherChangeTypes.Changed, System.IO.Path.GetDirectoryName(_path)!, System.IO.Path.GetFileName(_path)));
            }
        }

        private async void OnFileSettled()
        {
            try
            {
                await ReloadAsync().ConfigureAwait(false); // logs and records its own outcome
            }
            catch (Exception error)
            {
                // A timer callback must not throw (it would end the process); the reload's own failures never get here.
                Log.ReloadFailed(_logger, ModelName, _path, _model?.Version ?? 0, error);
            }
        }
    }

    /// <summary>A load or reload that failed, and when.</summary>
    internal sealed record ModelLoadFailure(Exception Error, DateTimeOffset At);

    /// <summary>What the host logs about its models (event ids 1-10, category <c>ModelSdk.Hosting.ModelHost</c>).</summary>
    internal static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Model {Model} version {Version} loaded from {Path} in {ElapsedMilliseconds} ms.")]
        public static partial void Loaded(ILogger logger, string model, int version, string path, long elapsedMilliseconds);

        [LoggerMessage(2, LogLevel.Information, "Model {Model} reloaded from {Path}: version {Version} serves new runs (loaded in {ElapsedMilliseconds} ms); runs in flight finish on version {PreviousVersion}.")]
        public static partial void Reloaded(ILogger logger, string model, string path, int version, long elapsedMilliseconds, int previousVersion);

        [LoggerMessage(3, LogLevel.Debug, "Model {Model}: {Path} holds the bytes already serving (version {Version}); nothing to reload.")]
        public static partial void Unchanged(ILogger logger, string model, string path, int version);

        [LoggerMessage(4, LogLevel.Error, "Model {Model}: reloading {Path} failed; version {Version} keeps serving.")]
        public static partial void ReloadFailed(ILogger logger, string model, string path, int version, Exception error);

        [LoggerMessage(5, LogLevel.Error, "Model {Model} could not be loaded from {Path}.")]
        public static partial void LoadFailed(ILogger logger, string model, string path, Exception error);

        [LoggerMessage(6, LogLevel.Warning, "Model {Model}: a run took {ElapsedMilliseconds:F1} ms (SlowRunThreshold {ThresholdMilliseconds} ms).")]
        public static partial void SlowRun(ILogger logger, string model, double elapsedMilliseconds, double thresholdMilliseconds);

        [LoggerMessage(7, LogLevel.Information, "Model {Model}: closing; waiting up to {TimeoutSeconds} s for {RunsInFlight} runs in flight.")]
        public static partial void Closing(ILogger logger, string model, double timeoutSeconds, int runsInFlight);

        [LoggerMessage(8, LogLevel.Warning, "Model {Model}: warm-up skipped (an input ModelSdk can't fill with zeros, or the model rejects zeros).")]
        public static partial void WarmUpSkipped(ILogger logger, string model);

        [LoggerMessage(9, LogLevel.Warning, "Model {Model}: watching {Path} failed; watching it again.")]
        public static partial void WatcherFailed(ILogger logger, string model, string path, Exception error);

        [LoggerMessage(10, LogLevel.Debug, "Model {Model}: watching {Path} for changes.")]
        public static partial void Watching(ILogger logger, string model, string path);
    }
}
