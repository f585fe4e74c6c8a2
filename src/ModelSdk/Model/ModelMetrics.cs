using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelSdk
{
    /// <summary>
    /// ModelSdk's metrics, on the <see cref="Meter"/> named <c>ModelSdk</c> (OpenTelemetry naming: dotted
    /// lower-case names, UCUM units, every measurement tagged <c>modelsdk.model</c> with the model's class name).
    /// Listen with OpenTelemetry (<c>AddMeter("ModelSdk")</c>), <c>dotnet-counters</c> or a <see cref="MeterListener"/>.
    /// </summary>
    /// <remarks>
    /// <list type="table">
    /// <item><term><c>modelsdk.runs</c></term><description>counter of runs that ended (<c>{run}</c>)</description></item>
    /// <item><term><c>modelsdk.run.failures</c></term><description>counter of runs that failed, tagged <c>error.type</c> (the exception's type)</description></item>
    /// <item><term><c>modelsdk.run.duration</c></term><description>histogram of run durations, in seconds</description></item>
    /// <item><term><c>modelsdk.runs.in_flight</c></term><description>gauge of runs in progress</description></item>
    /// <item><term><c>modelsdk.requests.held</c></term><description>gauge of requests with native state the model holds</description></item>
    /// <item><term><c>modelsdk.batch.size</c></term><description>histogram of the items in each batched run of a dynamic batcher (<c>{item}</c>)</description></item>
    /// <item><term><c>modelsdk.batch.rejected</c></term><description>counter of items a full batcher queue rejected</description></item>
    /// <item><term><c>modelsdk.reloads</c></term><description>counter of reloads, tagged <c>modelsdk.reload.outcome</c>: <c>success</c>, <c>unchanged</c> or <c>failure</c></description></item>
    /// </list>
    /// With no listener, a run pays one check of a flag.
    /// </remarks>
    public static class ModelMetrics
    {
        /// <summary>The meter's name.</summary>
        public const string MeterName = "ModelSdk";

        /// <summary>The tag with the model's class name.</summary>
        public const string ModelTag = "modelsdk.model";

        private static readonly Meter Meter = new Meter(MeterName, typeof(ModelMetrics).Assembly.GetName().Version?.ToString());
        private static readonly Counter<long> Runs = Meter.CreateCounter<long>("modelsdk.runs", "{run}", "Runs of a model that ended (successfully or not).");
        private static readonly Counter<long> Failures = Meter.CreateCounter<long>("modelsdk.run.failures", "{run}", "Runs of a model that failed, by error type.");
        private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("modelsdk.run.duration", "s", "How long runs of a model took, from start to end.");
        private static readonly Counter<long> Reloads = Meter.CreateCounter<long>("modelsdk.reloads", "{reload}", "Reloads of a model, by outcome.");
        private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("modelsdk.batch.size", "{item}", "Items in each batched run of a dynamic batcher.");
        private static readonly Counter<long> BatchRejected = Meter.CreateCounter<long>("modelsdk.batch.rejected", "{item}", "Items a dynamic batcher rejected because its queue was full.");
        private static readonly List<WeakReference<CompiledModel>> Models = new List<WeakReference<CompiledModel>>();

        static ModelMetrics()
        {
            Meter.CreateObservableGauge("modelsdk.runs.in_flight", () => Observe(static m => m.RunsInFlight), "{run}", "Runs of a model in progress.");
            Meter.CreateObservableGauge("modelsdk.requests.held", () => Observe(static m => m.RequestsHeld), "{request}", "Requests with native state a model holds.");
        }

        /// <summary>True when anyone listens to the per-run instruments (checked once per run).</summary>
        internal static bool RunsObserved => Runs.Enabled || Duration.Enabled || Failures.Enabled;

        internal static void Register(CompiledModel model)
        {
            lock (Models)
            {
                Models.RemoveAll(static w => !w.TryGetTarget(out _));
                Models.Add(new WeakReference<CompiledModel>(model));
            }
        }

        internal static void Unregister(CompiledModel model)
        {
            lock (Models)
            {
                Models.RemoveAll(w => !w.TryGetTarget(out CompiledModel? m) || m == model);
            }
        }

        internal static void RunEnded(CompiledModel model, long startTimestamp, Exception? error)
        {
            var tag = new KeyValuePair<string, object?>(ModelTag, model.Signature.ModelName);
            Runs.Add(1, tag);
            if (startTimestamp != 0 && Duration.Enabled)
            {
                Duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tag);
            }

            if (error != null)
            {
                Failures.Add(1, tag, new KeyValuePair<string, object?>("error.type", error.GetType().FullName));
            }
        }

        internal static void BatchRan(CompiledModel model, int items)
        {
            if (BatchSize.Enabled)
            {
                BatchSize.Record(items, new KeyValuePair<string, object?>(ModelTag, model.Signature.ModelName));
            }
        }

        internal static void BatchItemRejected(CompiledModel model) =>
            BatchRejected.Add(1, new KeyValuePair<string, object?>(ModelTag, model.Signature.ModelName));

        internal static void Reloaded(CompiledModel model, string outcome) =>
            Reloads.Add(1, new KeyValuePair<string, object?>(ModelTag, model.Signature.ModelName), new KeyValuePair<string, object?>("modelsdk.reload.outcome", outcome));

        private static List<Measurement<int>> Observe(Func<CompiledModel, int> read)
        {
            var measurements = new List<Measurement<int>>();
            lock (Models)
            {
                foreach (WeakReference<CompiledModel> reference in Models)
                {
                    if (reference.TryGetTarget(out CompiledModel? model) && !model.IsDisposed)
                    {
                        measurements.Add(new Measurement<int>(read(model), new KeyValuePair<string, object?>(ModelTag, model.Signature.ModelName)));
                    }
                }
            }

            return measurements;
        }
    }
}
