using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelSdk.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace ModelSdk.Hosting.Tests
{
    /// <summary>
    /// A real ASP.NET Core app (Kestrel on 127.0.0.1) serving <c>Digits</c> through <c>AddOnnxModel</c>, its file
    /// replaced while 64 requests are in flight: two valid versions alternate with a corrupt file.
    /// </summary>
    [Collection("Serving")]
    public class WebAppTests
    {
        private readonly ITestOutputHelper _output;

        public WebAppTests(ITestOutputHelper output) => _output = output;

        private sealed record Prediction(long Label, float Probability, float[] Probabilities);

        [Fact]
        public void Requests_at_64_in_flight_while_the_file_is_replaced_5_times_all_succeed_with_either_versions_answer()
        {
            Stress.Bounded(async () =>
            {
                IReadOnlyList<(long Label, float[] Pixels)> samples = Serving.DigitSamples();
                var a = Serving.Reference(ServedFile.Shipped("digits.onnx"), samples);
                var b = Serving.Reference(ServedFile.Shipped("digits_v2.onnx"), samples);
                Assert.True(Enumerable.Range(0, samples.Count).Count(i => !a[i].Probabilities.SequenceEqual(b[i].Probabilities)) == samples.Count,
                    "the two versions must answer differently for every sample, or the test could not tell them apart");

                using var file = new ServedFile("digits.onnx");
                using var metrics = new MetricsSeen("Digits");
                var log = new LogSink();
                await using WebApplication app = await StartAsync(file, log);
                using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
                {
                    BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()),
                    Timeout = TimeSpan.FromSeconds(30),
                };
                var model = app.Services.GetRequiredService<Digits>();
                Assert.Equal("Healthy", await client.GetStringAsync("/health"));
                Assert.Equal(1, model.Version);

                // Clients: 64 loops until 2,000 requests were answered and every replacement was served through.
                int sent = 0, failed = 0, wrong = 0, fromA = 0, fromB = 0;
                var problems = new List<string>();
                using var swapsDone = new CancellationTokenSource();
                async Task Client()
                {
                    while (Volatile.Read(ref sent) < 2000 || !swapsDone.IsCancellationRequested)
                    {
                        int i = Interlocked.Increment(ref sent) % samples.Count;
                        string? problem;
                        using (HttpResponseMessage response = await client.PostAsJsonAsync("/predict", samples[i].Pixels))
                        {
                            if (response.StatusCode != HttpStatusCode.OK)
                            {
                                Interlocked.Increment(ref failed);
                                problem = $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                            }
                            else
                            {
                                Prediction p = (await response.Content.ReadFromJsonAsync<Prediction>(JsonSerializerOptions.Web))!;
                                bool isA = p.Label == a[i].Label && p.Probabilities.SequenceEqual(a[i].Probabilities) && p.Probability == a[i].Probabilities[p.Label];
                                bool isB = p.Label == b[i].Label && p.Probabilities.SequenceEqual(b[i].Probabilities) && p.Probability == b[i].Probabilities[p.Label];
                                if (isA)
                                {
                                    Interlocked.Increment(ref fromA);
                                }
                                else if (isB)
                                {
                                    Interlocked.Increment(ref fromB);
                                }
                                else
                                {
                                    Interlocked.Increment(ref wrong);
                                }

                                problem = isA || isB ? null : $"sample {i}: label {p.Label}, matches neither version";
                            }
                        }

                        if (problem != null)
                        {
                            lock (problems)
                            {
                                if (problems.Count < 5)
                                {
                                    problems.Add(problem);
                                }
                            }
                        }
                    }
                }

                Task[] clients = Enumerable.Range(0, 64).Select(_ => Task.Run(Client)).ToArray();

                // The replacements, each once some requests ran on the version before it.
                var steps = new (string What, Action Replace, string Health)[]
                {
                    ("digits_v2", () => file.ReplaceWith("digits_v2.onnx"), "Healthy"),
                    ("corrupt", () => file.ReplaceWithCorrupt("digits.onnx"), "Degraded"),
                    ("digits", () => file.ReplaceWith("digits.onnx"), "Healthy"),
                    ("corrupt", () => file.ReplaceWithCorrupt("digits_v2.onnx"), "Degraded"),
                    ("digits_v2", () => file.ReplaceWith("digits_v2.onnx"), "Healthy"),
                };
                var seen = new List<string> { "Healthy v1" };
                double reloads = 0;
                foreach ((string what, Action replace, string health) in steps)
                {
                    int before = Volatile.Read(ref sent);
                    Assert.True(await Serving.Eventually(() => Volatile.Read(ref sent) > before + 100, TimeSpan.FromSeconds(20)), "requests stalled");
                    replace();
                    reloads++;
                    Assert.True(await Serving.Eventually(() => metrics.Sum("modelsdk.reloads", "modelsdk.reload.outcome=success") + metrics.Sum("modelsdk.reloads", "modelsdk.reload.outcome=failure") >= reloads,
                        TimeSpan.FromSeconds(20)), $"replacing the file with {what} was not picked up");
                    string status = await client.GetStringAsync("/health");
                    seen.Add(status + " v" + model.Version);
                    Assert.True(status == health, $"after {what}: health {status}, expected {health} (seen: {string.Join(", ", seen)})");
                }

                swapsDone.Cancel();
                await Task.WhenAll(clients);
                double runs = metrics.Sum("modelsdk.runs");
                string figures = $"{sent} requests at 64 in flight over 5 replacements: {failed} failed, {wrong} wrong, {fromA} answered by digits, {fromB} by digits_v2; " +
                                 $"health {string.Join(" -> ", seen)}; metrics: {runs} runs, {metrics.Sum("modelsdk.run.failures")} failures, " +
                                 $"{metrics.Count("modelsdk.run.duration")} durations, reloads {metrics.Sum("modelsdk.reloads", "modelsdk.reload.outcome=success")} ok / " +
                                 $"{metrics.Sum("modelsdk.reloads", "modelsdk.reload.outcome=failure")} failed; {string.Join(" | ", problems)} {log.Errors()}";
                _output.WriteLine(figures);
                Assert.True(failed == 0 && wrong == 0, figures);
                Assert.True(fromA > 0 && fromB > 0, figures);
                Assert.Equal(4, model.Version); // three successful swaps: versions 2, 3, 4
                Assert.Equal(3, metrics.Sum("modelsdk.reloads", "modelsdk.reload.outcome=success"));
                Assert.Equal(2, metrics.Sum("modelsdk.reloads", "modelsdk.reload.outcome=failure"));
                Assert.Equal(0, metrics.Sum("modelsdk.run.failures"));
                Assert.True(runs >= sent, figures);
                Assert.True(metrics.Count("modelsdk.run.duration") >= sent, figures);
                Assert.True(metrics.Observe("modelsdk.requests.held") >= 1, "requests held is observed for the served model");
                Assert.Equal(0, metrics.Observe("modelsdk.runs.in_flight"));

                // The log tells the story: loaded, reloaded three times, two failures naming the file.
                var ours = log.Entries.Where(e => e.Category.StartsWith("ModelSdk.Hosting", StringComparison.Ordinal)).ToList();
                Assert.Single(ours, e => e.EventId == 1 && e.Message.Contains("Digits", StringComparison.Ordinal));
                Assert.Equal(3, ours.Count(e => e.EventId == 2));
                Assert.Equal(2, ours.Count(e => e.EventId == 4 && e.Level == LogLevel.Error && e.Message.Contains(file.Path, StringComparison.Ordinal) && e.Error is ModelLoadException));
            }, TimeSpan.FromSeconds(120));
        }

        private static async Task<WebApplication> StartAsync(ServedFile file, LogSink log)
        {
            WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Serving.EmptyContentRoot });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Models:Digits:Path"] = file.Path,
                ["Models:Digits:WatchForChanges"] = "true",
                ["Models:Digits:ReloadDebounce"] = "00:00:00.100",
                ["Models:Digits:WarmUp"] = "true",
            });
            builder.Services.AddOnnxModel<Digits>(builder.Configuration.GetSection("Models:Digits"));
            builder.Services.AddHealthChecks().AddOnnxModelCheck<Digits>();
            WebApplication app = builder.Build();

            // The endpoint a user writes: the typed class injected, a synchronous run read before returning.
            app.MapPost("/predict", (float[] pixels, Digits model) =>
            {
                Digits.Result r = model.Run(pixels);
                long label = r.Label[0];
                float[] probabilities = r.Probabilities.ToArray();
                return new Prediction(label, probabilities[label], probabilities);
            });
            app.MapHealthChecks("/health");
            await app.StartAsync();
            return app;
        }
    }
}
