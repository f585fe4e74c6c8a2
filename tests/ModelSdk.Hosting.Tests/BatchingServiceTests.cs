using System;
using System.Collections.Generic;
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
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelSdk.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace ModelSdk.Hosting.Tests
{
    /// <summary>
    /// A dynamic batcher served by a real ASP.NET Core app (Kestrel on 127.0.0.1): 64 requests in flight share batched
    /// runs, the model file is replaced meanwhile, and every answer is the one its version gives the row alone.
    /// </summary>
    [Collection("Serving")]
    public class BatchingServiceTests
    {
        private readonly ITestOutputHelper _output;

        public BatchingServiceTests(ITestOutputHelper output) => _output = output;

        private sealed record Prediction(long Label, float[] Probabilities);

        private static (long Label, float[] Probabilities)[] Reference(string file, IReadOnlyList<(long Label, float[] Pixels)> samples)
        {
            using DigitsBatch model = DigitsBatch.Load(file);
            return Serving.Reference(samples, pixels => { DigitsBatch.Result r = model.Run(pixels); return (r.Label[0], r.Probabilities.ToArray()); });
        }

        [Fact]
        public void Requests_at_64_in_flight_share_batches_through_reloads_and_each_gets_its_rows_answer()
        {
            Stress.Bounded(async () =>
            {
                IReadOnlyList<(long Label, float[] Pixels)> samples = Serving.DigitSamples();
                var a = Reference(ServedFile.Shipped("digits_batch.onnx"), samples);
                var b = Reference(ServedFile.Shipped("digits_batch_v2.onnx"), samples);
                using var file = new ServedFile("digits_batch.onnx");
                await using WebApplication app = await StartAsync(file);
                using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
                {
                    BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()),
                    Timeout = TimeSpan.FromSeconds(30),
                };
                var model = app.Services.GetRequiredService<DigitsBatch>();
                var batcher = app.Services.GetRequiredService<DigitsBatch.Batcher>();
                Assert.Same(batcher, app.Services.GetRequiredService<DigitsBatch.Batcher>());
                Assert.Equal(16, batcher.Options.MaxBatchSize); // from the Batching section

                int sent = 0, failed = 0, wrong = 0, fromA = 0, fromB = 0;
                string? problem = null;
                using var swapsDone = new CancellationTokenSource();
                async Task Client()
                {
                    while (Volatile.Read(ref sent) < 3000 || !swapsDone.IsCancellationRequested)
                    {
                        int i = Interlocked.Increment(ref sent) % samples.Count;
                        using HttpResponseMessage response = await client.PostAsJsonAsync("/predict", samples[i].Pixels);
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            Interlocked.Increment(ref failed);
                            problem ??= $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                            continue;
                        }

                        Prediction p = (await response.Content.ReadFromJsonAsync<Prediction>(JsonSerializerOptions.Web))!;
                        if (p.Label == a[i].Label && p.Probabilities.SequenceEqual(a[i].Probabilities))
                        {
                            Interlocked.Increment(ref fromA);
                        }
                        else if (p.Label == b[i].Label && p.Probabilities.SequenceEqual(b[i].Probabilities))
                        {
                            Interlocked.Increment(ref fromB);
                        }
                        else
                        {
                            Interlocked.Increment(ref wrong);
                            problem ??= $"sample {i}: label {p.Label} matches neither version";
                        }
                    }
                }

                Task[] clients = Enumerable.Range(0, 64).Select(_ => Task.Run(Client)).ToArray();
                foreach (string next in new[] { "digits_batch_v2.onnx", "digits_batch.onnx", "digits_batch_v2.onnx" })
                {
                    int before = Volatile.Read(ref sent);
                    int version = model.Version;
                    Assert.True(await Serving.Eventually(() => Volatile.Read(ref sent) > before + 200, TimeSpan.FromSeconds(20)), "requests stalled");
                    file.ReplaceWith(next);
                    Assert.True(await Serving.Eventually(() => model.Version > version, TimeSpan.FromSeconds(20)), $"replacing the file with {next} was not picked up");
                }

                swapsDone.Cancel();
                await Task.WhenAll(clients);
                string figures = $"{sent} requests at 64 in flight over 3 replacements: {failed} failed, {wrong} wrong, {fromA} answered by v1, {fromB} by v2; " +
                                 $"{batcher.ItemsRun} items in {batcher.BatchesRun} batches (mean {(double)batcher.ItemsRun / batcher.BatchesRun:0.0}); {problem}";
                _output.WriteLine(figures);
                Assert.True(failed == 0 && wrong == 0, figures);
                Assert.True(fromA > 0 && fromB > 0, figures);
                Assert.Equal(4, model.Version);
                Assert.True(batcher.BatchesRun < batcher.ItemsRun / 2, "requests were not batched: " + figures);
            }, TimeSpan.FromSeconds(120));
        }

        [Fact]
        public void A_batcher_without_its_model_registered_says_what_to_add()
        {
            var services = new ServiceCollection();
            services.AddOptions();
            services.AddOnnxModelBatcher<DigitsBatch.Batcher>();
            using ServiceProvider provider = services.BuildServiceProvider();
            var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<DigitsBatch.Batcher>());
            Assert.Contains("AddOnnxModel<DigitsBatch>", e.Message);
        }

        private static async Task<WebApplication> StartAsync(ServedFile file)
        {
            WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Serving.EmptyContentRoot });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Models:DigitsBatch:Path"] = file.Path,
                ["Models:DigitsBatch:WatchForChanges"] = "true",
                ["Models:DigitsBatch:ReloadDebounce"] = "00:00:00.100",
                ["Models:DigitsBatch:IntraOpNumThreads"] = "1",
                ["Models:DigitsBatch:Batching:MaxBatchSize"] = "16",
                ["Models:DigitsBatch:Batching:MaxDelay"] = "00:00:00.001",
            });
            builder.Services.AddOnnxModel<DigitsBatch>(builder.Configuration.GetSection("Models:DigitsBatch"));
            builder.Services.AddOnnxModelBatcher<DigitsBatch.Batcher>();
            WebApplication app = builder.Build();
            app.MapPost("/predict", async (float[] pixels, DigitsBatch.Batcher batcher, CancellationToken ct) =>
            {
                using DigitsBatch.ItemResult r = await batcher.RunAsync(pixels, ct);
                return Results.Ok(new Prediction(r.Label[0], r.Probabilities.ToArray()));
            });
            await app.StartAsync();
            return app;
        }
    }
}
