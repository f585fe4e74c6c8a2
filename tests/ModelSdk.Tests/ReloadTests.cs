using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace ModelSdk.Tests
{
    /// <summary>Swapping the model under a live instance (what hosting's hot reload builds on), closing it gracefully, and its metrics.</summary>
    [Collection("Lifetimes")]
    public sealed class ReloadTests : IDisposable
    {
        private readonly ITestOutputHelper _output;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "modelsdk-reload-" + Guid.NewGuid().ToString("N"));

        public ReloadTests(ITestOutputHelper output)
        {
            _output = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Place(string model, string name = "model.onnx")
        {
            string path = Path.Combine(_dir, name);
            File.Copy(TestData.Model(model), path, overwrite: true);
            return path;
        }

        [Fact]
        public async Task Reload_swaps_in_the_new_file_and_results_of_the_old_version_stay_readable()
        {
            string path = Place("two_outputs");
            using TwoOutputs model = TwoOutputs.Load(path);
            float[] x = Lifetime.Iota16;
            using TwoOutputs.OwnedResult owned = await model.RunAsync(x);
            Assert.Equal(1, model.Version);

            Place("two_outputs_variant"); // small = max(x) = 16, large = 2x
            Assert.True(model.Reload());
            Assert.Equal(2, model.Version);
            Assert.Equal(136f, owned.Small[0]);
            Assert.Equal(16f, model.Run(x, TwoOutputs.Outputs.Small).Small[0]);
            Assert.Equal(32f, model.Run(x).Large[15]);
            Assert.Equal(136f, owned.Small[0]); // owned results hold their data, whatever the version

            Assert.False(model.Reload()); // the same bytes again: nothing to swap
            Assert.Equal(2, model.Version);
        }

        [Fact]
        public void A_file_that_does_not_load_or_match_leaves_the_current_version_serving()
        {
            string path = Place("two_outputs");
            using TwoOutputs model = TwoOutputs.Load(path);
            float[] x = Lifetime.Iota16;

            File.WriteAllBytes(path, new byte[] { 1, 2, 3, 4, 5 });
            var corrupt = Assert.Throws<ModelLoadException>(() => model.Reload());
            Assert.Contains("TwoOutputs", corrupt.Message);
            Assert.Contains(path, corrupt.Message);

            File.Copy(TestData.Model("digits"), path, overwrite: true);
            var mismatch = Assert.Throws<ModelLoadException>(() => model.Reload());
            Assert.Contains("does not match", mismatch.Message);
            Assert.Contains("'x' is missing", mismatch.Message);

            Assert.Equal(1, model.Version);
            Assert.Equal(136f, model.Run(x).Small[0]);
        }

        [Fact]
        public void Runs_from_many_threads_during_reloads_never_fail_and_each_answer_is_one_versions()
        {
            Lifetime.Bounded(() =>
            {
                string path = Place("two_outputs");
                using TwoOutputs model = TwoOutputs.Load(path);
                float[] x = Lifetime.Iota16;
                int failures = 0, answers = 0, sums = 0, maxes = 0;
                var problems = new ConcurrentQueue<string>();
                using var stop = new CancellationTokenSource();
                var callers = Enumerable.Range(0, 6).Select(t => Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            float small = t % 2 == 0 ? model.Run(x, TwoOutputs.Outputs.Small).Small[0] : (await model.RunAsync(x, TwoOutputs.Outputs.Small)).Small[0];
                            Interlocked.Increment(ref answers);
                            if (small == 136f)
                            {
                                Interlocked.Increment(ref sums);
                            }
                            else if (small == 16f)
                            {
                                Interlocked.Increment(ref maxes);
                            }
                            else
                            {
                                problems.Enqueue($"small = {small}");
                            }
                        }
                        catch (Exception ex)
                        {
                            Interlocked.Increment(ref failures);
                            problems.Enqueue(ex.ToString());
                        }
                    }
                })).ToArray();

                for (int i = 0; i < 20; i++)
                {
                    Thread.Sleep(20);
                    Place(i % 2 == 0 ? "two_outputs_variant" : "two_outputs");
                    Assert.True(model.Reload());
                }

                stop.Cancel();
                Assert.True(Task.WaitAll(callers, TimeSpan.FromSeconds(20)));
                _output.WriteLine($"{answers} answers during 20 reloads: {sums} from one version, {maxes} from the other, {failures} failures; {model.RequestsHeld} requests held");
                Assert.True(problems.IsEmpty, string.Join(Environment.NewLine, problems.Take(5)));
                Assert.True(sums > 0 && maxes > 0);
                Assert.Equal(21, model.Version);
            }, TimeSpan.FromSeconds(60));
        }

        [Fact]
        public void Twenty_reloads_do_not_grow_memory()
        {
            Lifetime.Bounded(() =>
            {
                string path = Place("two_outputs");
                using TwoOutputs model = TwoOutputs.Load(path);
                float[] x = Lifetime.Iota16;
                for (int i = 0; i < 2; i++)
                {
                    Place(i % 2 == 0 ? "two_outputs_variant" : "two_outputs");
                    model.Reload();
                    model.Run(x);
                    model.Run(x, TwoOutputs.Outputs.Small);
                }

                Lifetime.FullGc();
                long afterFirst = Lifetime.WorkingSetMb();
                for (int i = 0; i < 20; i++)
                {
                    Place(i % 2 == 0 ? "two_outputs_variant" : "two_outputs");
                    model.Reload();
                    model.Run(x);
                    model.Run(x, TwoOutputs.Outputs.Small);
                }

                Lifetime.FullGc();
                long afterTwenty = Lifetime.WorkingSetMb();
                _output.WriteLine($"working set after the first swaps {afterFirst} MB, after 20 more {afterTwenty} MB; {model.RequestsHeld} requests held");
                Assert.True(afterTwenty <= afterFirst * 1.5, $"{afterFirst} -> {afterTwenty} MB");
                Assert.True(model.RequestsHeld <= 1, $"{model.RequestsHeld} requests held"); // this thread's, on the current version
            }, TimeSpan.FromSeconds(60));
        }

        [Fact]
        public void CloseAsync_refuses_new_runs_lets_runs_in_flight_finish_then_releases_everything()
        {
            Lifetime.Bounded(async () =>
            {
                float[] x = TestData.Input("compute_bound", 0).As<float>();
                ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
                var running = Enumerable.Range(0, 4).Select(_ => model.RunAsync(x).AsTask()).ToList();
                Task closing = model.CloseAsync(TimeSpan.FromSeconds(10));
                Assert.Throws<ObjectDisposedException>(() => model.Run(x));
                await Assert.ThrowsAsync<ObjectDisposedException>(async () => await model.RunAsync(x));
                foreach (Task<ComputeBound.OwnedResult> run in running)
                {
                    using ComputeBound.OwnedResult result = await run; // started before: they finish
                    Assert.Equal(TestData.Output("compute_bound", 0).As<float>()[0], result.Y[0], 3);
                }

                await closing.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.True(model.IsDisposed);
                Assert.Equal(0, model.RequestsHeld);
            });
        }

        [Fact]
        public void Runs_reloads_and_gauges_are_measured_on_the_ModelSdk_meter()
        {
            string path = Place("tiny");
            using Tiny model = Tiny.Load(path);
            var counters = new ConcurrentDictionary<string, long>();
            var tags = new ConcurrentDictionary<string, string>();
            var durations = new ConcurrentBag<double>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ModelMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, measured, _) =>
            {
                if (Tag(measured, ModelMetrics.ModelTag) != "Tiny")
                {
                    return; // other tests' models
                }

                counters.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
                foreach (KeyValuePair<string, object?> tag in measured)
                {
                    tags[instrument.Name + "/" + tag.Key] = tag.Value?.ToString() ?? string.Empty;
                }
            });
            listener.SetMeasurementEventCallback<double>((instrument, value, measured, _) =>
            {
                if (Tag(measured, ModelMetrics.ModelTag) == "Tiny")
                {
                    durations.Add(value);
                }
            });
            listener.SetMeasurementEventCallback<int>((instrument, value, measured, _) =>
            {
                if (Tag(measured, ModelMetrics.ModelTag) == "Tiny")
                {
                    counters[instrument.Name] = value;
                }
            });
            listener.Start();

            for (int i = 0; i < 5; i++)
            {
                model.Run(new float[] { 1, 2, 3, 4 });
            }

            Assert.Throws<ArgumentException>(() => model.Run(new float[3]));
            File.WriteAllBytes(path, new byte[] { 9 });
            Assert.Throws<ModelLoadException>(() => model.Reload());
            listener.RecordObservableInstruments();

            Assert.Equal(6, counters.GetValueOrDefault("modelsdk.runs"));
            Assert.Equal(1, counters.GetValueOrDefault("modelsdk.run.failures"));
            Assert.Equal("System.ArgumentException", tags["modelsdk.run.failures/error.type"]);
            Assert.Equal(6, durations.Count);
            Assert.All(durations, d => Assert.InRange(d, 0, 10));
            Assert.Equal(1, counters.GetValueOrDefault("modelsdk.reloads"));
            Assert.Equal("failure", tags["modelsdk.reloads/modelsdk.reload.outcome"]);
            Assert.Equal(1, counters.GetValueOrDefault("modelsdk.requests.held"));
            Assert.Equal(0, counters.GetValueOrDefault("modelsdk.runs.in_flight"));

            static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == key)
                    {
                        return tag.Value as string;
                    }
                }

                return null;
            }
        }

        [Fact]
        public void Slow_runs_are_reported_when_a_threshold_is_set()
        {
            var slow = new ConcurrentBag<TimeSpan>();
            using ComputeBound model = ComputeBound.Load(new ModelOptions
            {
                IntraOpNumThreads = 1,
                SlowRunThreshold = TimeSpan.Zero,
                OnSlowRun = (m, duration) => slow.Add(duration),
            });
            model.Run(TestData.Input("compute_bound", 0).As<float>());
            Assert.Single(slow);
            Assert.True(slow.Single() > TimeSpan.Zero);
        }
    }
}
