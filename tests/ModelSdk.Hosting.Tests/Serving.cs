using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Hosting.Tests
{
    /// <summary>Hosts share the process's meter, thread pool and memory figures: these tests run one at a time.</summary>
    [CollectionDefinition("Serving", DisableParallelization = true)]
    public sealed class ServingCollection
    {
    }

    /// <summary>Helpers of the serving tests (bodies are bounded in time with <see cref="Stress.Bounded(Func{Task}, TimeSpan)"/>).</summary>
    internal static class Serving
    {
        /// <summary>
        /// A content root with no appsettings.json: the test output folder has the WebApi sample's (it comes with the
        /// project reference), and a host started there would read the sample's settings.
        /// </summary>
        public static string EmptyContentRoot { get; } = Directory.CreateTempSubdirectory("modelsdk-contentroot-").FullName;

        /// <summary>Waits until <paramref name="condition"/> holds; false after <paramref name="limit"/>.</summary>
        public static async Task<bool> Eventually(Func<bool> condition, TimeSpan limit)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > limit)
                {
                    return false;
                }

                await Task.Delay(20);
            }

            return true;
        }

        /// <summary>Rows of models/digits_samples.csv (copied next to the tests): (true label, 64 pixels).</summary>
        public static IReadOnlyList<(long Label, float[] Pixels)> DigitSamples() => Stress.DigitSamples(AppContext.BaseDirectory);

        /// <summary>What a model file computes for each sample, single-threaded, on a model of its own.</summary>
        public static (long Label, float[] Probabilities)[] Reference(string file, IReadOnlyList<(long Label, float[] Pixels)> samples)
        {
            using Digits model = Digits.Load(file);
            return Reference(samples, pixels => { Digits.Result r = model.Run(pixels); return (r.Label[0], r.Probabilities.ToArray()); });
        }

        /// <summary>Each sample's answer from <paramref name="run"/> (a model run alone, single-threaded): what a served answer must equal.</summary>
        public static (long Label, float[] Probabilities)[] Reference(IReadOnlyList<(long Label, float[] Pixels)> samples, Func<float[], (long, float[])> run) =>
            samples.Select(s => run(s.Pixels)).ToArray();

    }

    /// <summary>
    /// A folder holding the file a host serves, replaced the way deployments do it: the new file is written next
    /// to it, then renamed over it (one atomic step), or written in place.
    /// </summary>
    internal sealed class ServedFile : IDisposable
    {
        private readonly string _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modelsdk-serving-" + Guid.NewGuid().ToString("N"));

        public ServedFile(string initial, string name = "model.onnx")
        {
            Directory.CreateDirectory(_folder);
            Path = System.IO.Path.Combine(_folder, name);
            File.Copy(Shipped(initial), Path);
        }

        public string Path { get; }

        public string Folder => _folder;

        /// <summary>A file the build copied next to the tests (models/ of the repo).</summary>
        public static string Shipped(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, name);

        public void ReplaceWith(string shippedName) => ReplaceWithBytes(File.ReadAllBytes(Shipped(shippedName)));

        /// <summary>A model file cut in half: ONNX Runtime can't parse it.</summary>
        public void ReplaceWithCorrupt(string shippedName)
        {
            byte[] bytes = File.ReadAllBytes(Shipped(shippedName));
            ReplaceWithBytes(bytes.AsSpan(0, bytes.Length / 2).ToArray());
        }

        public void ReplaceWithBytes(byte[] bytes)
        {
            string next = System.IO.Path.Combine(_folder, "next-" + Guid.NewGuid().ToString("N") + ".tmp");
            File.WriteAllBytes(next, bytes);
            File.Move(next, Path, overwrite: true);
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere: the temp folder is cleaned up later.
            }
        }
    }

    /// <summary>The measurements on the <c>ModelSdk</c> meter tagged with one model, seen through a <see cref="MeterListener"/>.</summary>
    internal sealed class MetricsSeen : IDisposable
    {
        private readonly MeterListener _listener = new MeterListener();
        private readonly string _model;
        private readonly Dictionary<string, double> _sums = new Dictionary<string, double>();
        private readonly Dictionary<string, long> _counts = new Dictionary<string, long>();

        public MetricsSeen(string model)
        {
            _model = model;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ModelMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
            _listener.Start();
        }

        /// <summary>The sum of an instrument's measurements with the given extra tag (<c>key=value</c>), or all of them.</summary>
        public double Sum(string instrument, string? tag = null)
        {
            lock (_sums)
            {
                return _sums.TryGetValue(Key(instrument, tag), out double sum) ? sum : 0;
            }
        }

        /// <summary>How many measurements an instrument reported (a histogram's count).</summary>
        public long Count(string instrument, string? tag = null)
        {
            lock (_sums)
            {
                return _counts.TryGetValue(Key(instrument, tag), out long count) ? count : 0;
            }
        }

        /// <summary>The latest value of each observable gauge.</summary>
        public double Observe(string gauge)
        {
            lock (_sums)
            {
                _sums.Remove(Key(gauge, null));
            }

            _listener.RecordObservableInstruments();
            return Sum(gauge);
        }

        public void Dispose() => _listener.Dispose();

        private static string Key(string instrument, string? tag) => tag is null ? instrument : instrument + "|" + tag;

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            bool ours = false;
            var keys = new List<string> { Key(instrument.Name, null) };
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == ModelMetrics.ModelTag)
                {
                    ours = tag.Value as string == _model;
                }
                else
                {
                    keys.Add(Key(instrument.Name, tag.Key + "=" + tag.Value));
                }
            }

            if (!ours)
            {
                return;
            }

            lock (_sums)
            {
                foreach (string key in keys)
                {
                    _sums[key] = (_sums.TryGetValue(key, out double sum) ? sum : 0) + value;
                    _counts[key] = (_counts.TryGetValue(key, out long count) ? count : 0) + 1;
                }
            }
        }
    }

    /// <summary>Keeps what a host logs (level, event id, message, exception).</summary>
    internal sealed class LogSink : ILoggerProvider
    {
        private readonly List<(LogLevel Level, int EventId, string Category, string Message, Exception? Error)> _entries = new();

        public IReadOnlyList<(LogLevel Level, int EventId, string Category, string Message, Exception? Error)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return _entries.ToList();
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Categorized(this, categoryName);

        public void Dispose()
        {
        }

        /// <summary>The errors logged (a failed endpoint's exception), for failure messages.</summary>
        public string Errors() => string.Join(" | ", Entries.Where(e => e.Level >= LogLevel.Error && !e.Category.StartsWith("ModelSdk", StringComparison.Ordinal))
            .Take(5).Select(e => e.Category + ": " + e.Message + " " + e.Error?.Message));

        private sealed class Categorized : ILogger
        {
            private readonly LogSink _sink;
            private readonly string _category;

            public Categorized(LogSink sink, string category)
            {
                _sink = sink;
                _category = category;
            }

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (_sink._entries)
                {
                    _sink._entries.Add((logLevel, eventId.Id, _category, formatter(state, exception), exception));
                }
            }
        }
    }
}
