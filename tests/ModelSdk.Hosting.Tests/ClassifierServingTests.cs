using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
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

namespace ModelSdk.Hosting.Tests
{
    /// <summary>
    /// A scikit-learn classifier (skl2onnx's ZipMap graph, label names from a Labels file) served by a real ASP.NET Core
    /// app on 127.0.0.1 under concurrent load: synchronous and asynchronous endpoints use the typed helpers, one returns
    /// the owned result itself to the JSON serializer.
    /// </summary>
    [Collection("Serving")]
    public class ClassifierServingTests
    {
        private sealed record Answer(string Name, long Label, float Score, string[] Top);

        private static (string Species, float[] Features)[] Samples() =>
            File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "iris_samples.csv")).Skip(1)
                .Select(line => line.Split(','))
                .Select(f => (f[0], f.Skip(1).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()))
                .ToArray();

        [Fact]
        public void Iris_classifier_serves_64_concurrent_clients_with_typed_labels()
        {
            Stress.Bounded(async () =>
            {
                await using WebApplication app = await StartAsync();
                using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
                var samples = Samples();
                Assert.Equal(45, samples.Length);

                var tasks = Enumerable.Range(0, 64).Select(async c =>
                {
                    var wrong = new List<string>();
                    for (int i = 0; i < 20; i++)
                    {
                        var (species, features) = samples[(c * 7 + i) % samples.Length];
                        string route = (c + i) % 2 == 0 ? "/classify" : "/classify/async";
                        using HttpResponseMessage response = await client.PostAsJsonAsync(route, features);
                        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                        Answer answer = (await response.Content.ReadFromJsonAsync<Answer>(JsonSerializerOptions.Web))!;
                        if (answer.Name != species || answer.Top[0] != species || answer.Top.Length != 3 || IrisClassifier.LabelNames[(int)answer.Label] != species)
                        {
                            wrong.Add($"{route}: {answer} for {species}");
                        }
                    }

                    return wrong;
                }).ToArray();
                string[] problems = (await Task.WhenAll(tasks)).SelectMany(w => w).ToArray();
                Assert.True(problems.Length == 0, string.Join("\n", problems.Take(10))); // the model gets every held-out row right

                // The owned result itself, serialized: the ZipMap as a list of label -> probability objects.
                using JsonDocument raw = JsonDocument.Parse(await (await client.PostAsJsonAsync("/classify/raw", samples[0].Features)).Content.ReadAsStringAsync());
                JsonElement map = raw.RootElement.GetProperty("outputProbability")[0];
                Assert.Equal(3, map.EnumerateObject().Count());
                Assert.InRange(map.EnumerateObject().Sum(p => p.Value.GetSingle()), 0.999f, 1.001f);

                using HttpResponseMessage bad = await client.PostAsJsonAsync("/classify", new float[] { 1, 2, 3 });
                Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            }, TimeSpan.FromSeconds(120));
        }

        private static async Task<WebApplication> StartAsync()
        {
            WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Serving.EmptyContentRoot });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Models:Iris:Path"] = ServedFile.Shipped("iris_classifier.onnx") });
            builder.Services.AddOnnxModel<IrisClassifier>(builder.Configuration.GetSection("Models:Iris"));
            WebApplication app = builder.Build();

            // Rows of 4 features; the answer for the first row: name, label, score and the classes best first.
            app.MapPost("/classify", (float[] features, IrisClassifier model) =>
            {
                if (features.Length == 0 || features.Length % 4 != 0)
                {
                    return Results.BadRequest(new { error = $"Send rows of 4 features; got {features.Length} values." });
                }

                IrisClassifier.Result result = model.Run(features, floatInputDim0: features.Length / 4);
                Prediction<long> best = result.Best();
                return Results.Ok(new Answer(best.Name!, best.Label, best.Score, result.TopK(3).Select(p => p.Name!).ToArray()));
            });
            app.MapPost("/classify/async", async (float[] features, IrisClassifier model) =>
            {
                using IrisClassifier.OwnedResult result = await model.RunAsync(features, floatInputDim0: features.Length / 4);
                Prediction<long> best = result.Best();
                return Results.Ok(new Answer(best.Name!, best.Label, best.Score, result.TopK(3).Select(p => p.Name!).ToArray()));
            });
            app.MapPost("/classify/raw", async (float[] features, IrisClassifier model) => await model.RunAsync(features, floatInputDim0: features.Length / 4));
            await app.StartAsync();
            return app;
        }
    }
}
