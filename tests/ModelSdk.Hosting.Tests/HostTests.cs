using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelSdk.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace ModelSdk.Hosting.Tests
{
    /// <summary>
    /// ModelSdk.Hosting in a worker host (<c>Host.CreateApplicationBuilder</c>): registration, options from
    /// configuration and their startup checks, warm-up, reload on demand, health, slow-run logs, graceful shutdown,
    /// and memory across reloads.
    /// </summary>
    [Collection("Serving")]
    public class HostTests
    {
        private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
        private readonly ITestOutputHelper _output;

        public HostTests(ITestOutputHelper output) => _output = output;

        private static float[] Iota16 => Enumerable.Range(1, 16).Select(i => (float)i).ToArray(); // sum 136, max 16

        /// <summary>A worker host with the given configuration, its logs kept in <paramref name="log"/>.</summary>
        private static IHost Worker(Dictionary<string, string?> settings, Action<HostApplicationBuilder> configure, LogSink? log = null)
        {
            HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                Args = Array.Empty<string>(),
                ContentRootPath = Serving.EmptyContentRoot,
            });
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            if (log != null)
            {
                builder.Logging.AddProvider(log);
            }

            configure(builder);
            return builder.Build();
        }

        private static IHost DigitsWorker(Dictionary<string, string?> settings, LogSink? log = null, Action<HostApplicationBuilder>? more = null) =>
            Worker(settings, b =>
            {
                b.Services.AddOnnxModel<Digits>(b.Configuration.GetSection("Models:Digits"));
                b.Services.AddHealthChecks().AddOnnxModelCheck<Digits>();
                more?.Invoke(b);
            }, log);

        private static async Task<HealthReportEntry> Health(IHost host) =>
            (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["onnx-model-Digits"];

        [Fact]
        public void The_class_is_served_from_its_own_file_by_default_as_one_instance_however_often_it_is_added()
        {
            Stress.Bounded(async () =>
            {
                using IHost host = Worker(new(), b =>
                {
                    b.Services.AddOnnxModel<Digits>();
                    b.Services.AddOnnxModel<Digits>(o => o.WarmUp = true);
                });
                await host.StartAsync();
                var model = host.Services.GetRequiredService<Digits>();
                Assert.Same(model, host.Services.GetRequiredService<Digits>());
                Assert.Single(host.Services.GetServices<IHostedService>(), s => s is ModelHost<Digits>);
                Assert.Equal(Path.Combine(AppContext.BaseDirectory, Digits.DefaultModelPath), model.Source.Path);
                var sample = Serving.DigitSamples()[1];
                Assert.Equal(sample.Label, model.Run(sample.Pixels).Label[0]);
                Assert.True(host.Services.GetRequiredService<IOptionsMonitor<OnnxModelOptions>>().Get(OnnxModelServiceCollectionExtensions.OptionsName<Digits>()).WarmUp);
                await host.StopAsync();
                Assert.True(model.IsDisposed);
            }, Limit);
        }

        [Fact]
        public void A_missing_file_stops_the_start_with_a_message_naming_the_model_the_setting_and_the_file()
        {
            Stress.Bounded(async () =>
            {
                string missing = Path.Combine(Path.GetTempPath(), "modelsdk-missing-" + Guid.NewGuid().ToString("N"), "digits.onnx");
                using IHost host = DigitsWorker(new() { ["Models:Digits:Path"] = missing });
                var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
                _output.WriteLine(e.Message);
                Assert.Contains("Model Digits", e.Message);
                Assert.Contains("Models:Digits:Path", e.Message);
                Assert.Contains(missing, e.Message);
            }, Limit);
        }

        [Fact]
        public void A_file_that_does_not_match_the_class_stops_the_start_with_a_message_naming_the_model_the_setting_and_the_file()
        {
            Stress.Bounded(async () =>
            {
                using var file = new ServedFile("tiny.onnx");
                using IHost host = DigitsWorker(new() { ["Models:Digits:Path"] = file.Path });
                var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
                _output.WriteLine(e.Message);
                Assert.Contains("Model Digits", e.Message);
                Assert.Contains("Models:Digits:Path", e.Message);
                Assert.Contains(file.Path, e.Message);
                Assert.IsType<ModelLoadException>(e.InnerException);
                Assert.Contains("pixels", e.Message); // what the class expects and the file lacks
            }, Limit);
        }

        [Theory]
        [InlineData("WatchForChange", "true", "Models:Digits:WatchForChange is not a setting")]
        [InlineData("IntraOpNumThreads", "-2", "Models:Digits:IntraOpNumThreads: IntraOpNumThreads can't be negative")]
        [InlineData("MaxIdleRequests", "-1", "Models:Digits:MaxIdleRequests: MaxIdleRequests can't be negative")]
        [InlineData("ReloadDebounce", "-00:00:01", "Models:Digits:ReloadDebounce is -00:00:01; it can't be negative")]
        [InlineData("Batching:MaxBatchSize", "0", "Models:Digits:Batching:MaxBatchSize: BatchingOptions.MaxBatchSize must be between 1 and 65536")]
        [InlineData("Batching:MaxDelays", "00:00:00.001", "Models:Digits:Batching:MaxDelays is not a batching setting")]
        [InlineData("GraphOptimizationLevel", "7", "Models:Digits:GraphOptimizationLevel: GraphOptimizationLevel takes ORT_DISABLE_ALL")]
        public void A_bad_setting_stops_the_start_with_a_message_naming_the_model_and_the_setting(string key, string value, string expected)
        {
            Stress.Bounded(async () =>
            {
                using IHost host = DigitsWorker(new() { ["Models:Digits:" + key] = value });
                var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
                _output.WriteLine(e.Message);
                Assert.Contains("Model Digits: " + expected, e.Message);
            }, Limit);
        }

        [Fact]
        public void A_value_of_the_wrong_type_stops_the_start_naming_the_key()
        {
            Stress.Bounded(async () =>
            {
                using IHost host = DigitsWorker(new() { ["Models:Digits:IntraOpNumThreads"] = "many" });
                var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
                _output.WriteLine(e.Message);
                Assert.Contains("Models:Digits:IntraOpNumThreads", e.Message);
            }, Limit);
        }

        [Fact]
        public void Without_RequiredAtStartup_the_host_starts_unhealthy_and_serves_once_the_file_arrives()
        {
            Stress.Bounded(async () =>
            {
                using var file = new ServedFile("digits.onnx");
                File.Delete(file.Path);
                using IHost host = DigitsWorker(new()
                {
                    ["Models:Digits:Path"] = file.Path,
                    ["Models:Digits:RequiredAtStartup"] = "false",
                    ["Models:Digits:WatchForChanges"] = "true",
                    ["Models:Digits:ReloadDebounce"] = "00:00:00.050",
                });
                await host.StartAsync();
                HealthReportEntry health = await Health(host);
                Assert.Equal(HealthStatus.Unhealthy, health.Status);
                Assert.Contains("not loaded", health.Description);
                var e = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<Digits>());
                Assert.Contains(file.Path, e.Message);

                file.ReplaceWith("digits.onnx");
                Assert.True(await Serving.Eventually(() => Health(host).Result.Status == HealthStatus.Healthy, TimeSpan.FromSeconds(10)), "the file was not picked up");
                var model = host.Services.GetRequiredService<Digits>();
                Assert.Equal(1, model.Version);
                var sample = Serving.DigitSamples()[1];
                Assert.Equal(sample.Label, model.Run(sample.Pixels).Label[0]);
                await host.StopAsync();
            }, Limit);
        }

        [Fact]
        public void Reload_on_demand_swaps_versions_keeps_serving_after_a_bad_file_and_health_follows()
        {
            Stress.Bounded(async () =>
            {
                using var file = new ServedFile("digits.onnx");
                var log = new LogSink();
                using IHost host = DigitsWorker(new() { ["Models:Digits:Path"] = file.Path }, log);
                await host.StartAsync();
                var model = host.Services.GetRequiredService<Digits>();
                var reloader = host.Services.GetRequiredService<IModelReloader<Digits>>();
                var samples = Serving.DigitSamples();
                var v2 = Serving.Reference(ServedFile.Shipped("digits_v2.onnx"), samples);
                Assert.Equal(HealthStatus.Healthy, (await Health(host)).Status);

                Assert.Equal(ModelReloadOutcome.Unchanged, (await reloader.ReloadAsync()).Outcome);

                file.ReplaceWith("digits_v2.onnx");
                ModelReloadResult swapped = await reloader.ReloadAsync();
                Assert.Equal(ModelReloadOutcome.Reloaded, swapped.Outcome);
                Assert.Equal(2, swapped.Version);
                Assert.Equal(v2[3].Probabilities, model.Run(samples[3].Pixels).Probabilities.ToArray());

                file.ReplaceWith("tiny.onnx"); // loads, but is not a Digits
                ModelReloadResult mismatch = await reloader.ReloadAsync();
                Assert.Equal(ModelReloadOutcome.Failed, mismatch.Outcome);
                Assert.IsType<ModelLoadException>(mismatch.Error);
                Assert.Equal(2, mismatch.Version);
                HealthReportEntry degraded = await Health(host);
                Assert.Equal(HealthStatus.Degraded, degraded.Status);
                Assert.Contains("serves version 2", degraded.Description);
                Assert.Equal(v2[3].Probabilities, model.Run(samples[3].Pixels).Probabilities.ToArray()); // still serving version 2

                file.ReplaceWith("digits.onnx");
                Assert.Equal(ModelReloadOutcome.Reloaded, (await reloader.ReloadAsync()).Outcome);
                Assert.Equal(HealthStatus.Healthy, (await Health(host)).Status);
                Assert.Equal(3, model.Version);

                await host.StopAsync();
                ModelReloadResult afterStop = await reloader.ReloadAsync();
                Assert.Equal(ModelReloadOutcome.Failed, afterStop.Outcome);
                Assert.IsType<ObjectDisposedException>(afterStop.Error);
                Assert.Equal(HealthStatus.Unhealthy, (await Health(host)).Status);
                Assert.Contains(log.Entries, e => e.EventId == 4 && e.Error is ModelLoadException && e.Message.Contains("version 2 keeps serving", StringComparison.Ordinal));
                Assert.Contains(log.Entries, e => e.EventId == 7); // closing
            }, Limit);
        }

        [Fact]
        public void Warm_up_runs_the_model_once_at_start_and_slow_runs_are_logged()
        {
            Stress.Bounded(async () =>
            {
                using var metrics = new MetricsSeen("Digits");
                var log = new LogSink();
                using (IHost cold = DigitsWorker(new()))
                {
                    await cold.StartAsync();
                    Assert.Equal(0, metrics.Sum("modelsdk.runs"));
                    await cold.StopAsync();
                }

                using IHost host = DigitsWorker(new() { ["Models:Digits:WarmUp"] = "true", ["Models:Digits:SlowRunThreshold"] = "00:00:00.0000001" }, log);
                await host.StartAsync();
                Assert.Equal(1, metrics.Sum("modelsdk.runs"));
                Assert.DoesNotContain(log.Entries, e => e.EventId == 8); // warm-up not skipped
                host.Services.GetRequiredService<Digits>().Run(new float[64]);
                Assert.Contains(log.Entries, e => e.EventId == 6 && e.Level == LogLevel.Warning && e.Message.Contains("Model Digits: a run took", StringComparison.Ordinal));
                await host.StopAsync();
            }, Limit);
        }

        [Fact]
        public void A_health_check_of_a_model_never_added_says_so()
        {
            Stress.Bounded(async () =>
            {
                using IHost host = Worker(new(), b => b.Services.AddHealthChecks().AddOnnxModelCheck<Digits>());
                HealthReportEntry health = await Health(host);
                Assert.Equal(HealthStatus.Unhealthy, health.Status);
                Assert.Contains("services.AddOnnxModel<Digits>()", health.Description);
            }, Limit);
        }

        /// <summary>Runs of a background worker until the host stops; and runs of no worker at all, racing the shutdown.</summary>
        private sealed class DigitsWorkerService : BackgroundService
        {
            private readonly Digits _model;

            public DigitsWorkerService(Digits model) => _model = model;

            public int Runs;

            protected override async Task ExecuteAsync(CancellationToken stoppingToken)
            {
                var pixels = new float[64];
                while (!stoppingToken.IsCancellationRequested)
                {
                    using Digits.OwnedResult r = await _model.RunAsync(pixels, cancellationToken: stoppingToken);
                    Interlocked.Increment(ref Runs);
                    await Task.Yield();
                }
            }
        }

        [Fact]
        public void Stopping_a_worker_host_lets_runs_in_flight_finish_then_disposes_the_model_and_refuses_new_runs()
        {
            Stress.Bounded(async () =>
            {
                using IHost host = DigitsWorker(new(), more: b =>
                {
                    b.Services.AddSingleton<DigitsWorkerService>();
                    b.Services.AddHostedService(sp => sp.GetRequiredService<DigitsWorkerService>());
                });
                await host.StartAsync();
                var model = host.Services.GetRequiredService<Digits>();
                var worker = host.Services.GetRequiredService<DigitsWorkerService>();

                // Loops outside the host's lifetime, racing its shutdown from the thread pool.
                int completed = 0, refused = 0;
                var unexpected = new List<Exception>();
                using var stop = new CancellationTokenSource();
                Task[] racers = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
                {
                    var pixels = new float[64];
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            if (t % 2 == 0)
                            {
                                using Digits.OwnedResult r = await model.RunAsync(pixels);
                                _ = r.Label[0];
                            }
                            else
                            {
                                _ = model.Run(pixels).Label[0];
                            }

                            Interlocked.Increment(ref completed);
                            await Task.Yield(); // one run per work item, as requests are (a loop that never yields starves the pool)
                        }
                        catch (ObjectDisposedException)
                        {
                            Interlocked.Increment(ref refused); // the model is closing or closed: a clear refusal
                            await Task.Delay(1);
                        }
                        catch (Exception e)
                        {
                            lock (unexpected)
                            {
                                unexpected.Add(e);
                            }
                        }
                    }
                })).ToArray();

                Assert.True(await Serving.Eventually(() => Volatile.Read(ref worker.Runs) > 100 && Volatile.Read(ref completed) > 100, TimeSpan.FromSeconds(10)),
                    $"before the stop: worker ran {worker.Runs}, racers completed {completed}, refused {refused}, unexpected {unexpected.Count}: {string.Join(" | ", unexpected.Take(3).Select(e => e.GetType().Name + ": " + e.Message))}");
                await host.StopAsync();
                Assert.True(model.IsDisposed);
                Assert.Equal(0, model.RunsInFlight);
                int refusedAtStop = Volatile.Read(ref refused);
                await Task.Delay(50);
                stop.Cancel();
                await Task.WhenAll(racers);
                _output.WriteLine($"worker ran {worker.Runs}; racers completed {completed}, refused {refused} ({refusedAtStop} by the time the host stopped); unexpected: {string.Join(" | ", unexpected.Select(e => e.GetType().Name + ": " + e.Message))}");
                Assert.Empty(unexpected);
                Assert.True(refused > refusedAtStop || refusedAtStop > 0, "runs after the stop are refused");
                Assert.Throws<ObjectDisposedException>(() => model.Run(new float[64]));
            }, Limit);
        }

        [Fact]
        public void Memory_after_20_reloads_stays_within_1_5x_of_after_the_first()
        {
            Stress.Bounded(async () =>
            {
                // two_outputs: every request holds a 16 MB output; a version whose requests or sessions were kept
                // after a swap would add that much (or more) per reload.
                using var file = new ServedFile("two_outputs.onnx");
                // Requests beyond 2 idle ones are released after 200 ms, so both measurements hold the same requests
                // and what differs is what the reloads left behind.
                using IHost host = Worker(new()
                    {
                        ["Models:TwoOutputs:Path"] = file.Path,
                        ["Models:TwoOutputs:MaxIdleRequests"] = "2",
                        ["Models:TwoOutputs:IdleRequestTimeout"] = "00:00:00.200",
                    },
                    b => b.Services.AddOnnxModel<TwoOutputs>(b.Configuration.GetSection("Models:TwoOutputs")));
                await host.StartAsync();
                var model = host.Services.GetRequiredService<TwoOutputs>();
                var reloader = host.Services.GetRequiredService<IModelReloader<TwoOutputs>>();
                float[] x = Iota16;
                var figures = new List<string>();
                long afterFirst = 0;
                int wrong = 0;

                async Task Serve(float expectedSmall)
                {
                    await Parallel.ForEachAsync(Enumerable.Range(0, 16), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
                    {
                        float small;
                        if (i % 2 == 0)
                        {
                            using TwoOutputs.OwnedResult r = await model.RunAsync(x, cancellationToken: ct);
                            small = r.Small[0];
                        }
                        else
                        {
                            small = model.Run(x).Small[0];
                        }

                        if (small != expectedSmall)
                        {
                            Interlocked.Increment(ref wrong);
                        }
                    });
                }

                await Serve(136f);
                for (int swap = 1; swap <= 20; swap++)
                {
                    bool variant = swap % 2 == 1;
                    file.ReplaceWith(variant ? "two_outputs_variant.onnx" : "two_outputs.onnx");
                    ModelReloadResult result = await reloader.ReloadAsync();
                    Assert.Equal(ModelReloadOutcome.Reloaded, result.Outcome);
                    await Serve(variant ? 16f : 136f); // small: max of x in the variant, sum of x in the original
                    if (swap == 1 || swap == 20)
                    {
                        Assert.True(await Serving.Eventually(() => model.RequestsHeld <= 2, TimeSpan.FromSeconds(10)), $"{model.RequestsHeld} requests held after the load");
                        Stress.FullGc();
                        long ws = Stress.WorkingSetMb();
                        afterFirst = swap == 1 ? ws : afterFirst;
                        figures.Add($"after reload {swap}: working set {ws} MB, {model.RequestsHeld} requests held, version {model.Version}");
                    }
                }

                long afterLast = Stress.WorkingSetMb();
                _output.WriteLine(string.Join("; ", figures) + $"; {wrong} wrong answers");
                Assert.Equal(0, wrong);
                Assert.Equal(21, model.Version);
                Assert.True(afterLast <= afterFirst * 1.5, string.Join("; ", figures));
                await host.StopAsync();
            }, TimeSpan.FromSeconds(60));
        }
    }
}
