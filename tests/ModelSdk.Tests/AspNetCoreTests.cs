using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace ModelSdk.Tests
{
    /// <summary>
    /// The lifetime rules in a real ASP.NET Core app (Kestrel on 127.0.0.1), the way services use a model: a
    /// singleton, synchronous runs read before the endpoint awaits, owned results across awaits and returned to
    /// the JSON serializer, under 64 requests in flight. The old runtime failed 88-95% of such requests (a result
    /// read after an await had been overwritten) and broke every endpoint of the app when one returned an output.
    /// </summary>
    [Collection("Lifetimes")]
    public class AspNetCoreTests
    {
        private readonly ITestOutputHelper _output;

        public AspNetCoreTests(ITestOutputHelper output) => _output = output;

        private sealed record Answer(long Label, float[] Probabilities);

        [Fact]
        public void Every_endpoint_shape_answers_2000_requests_at_64_in_flight_like_a_single_threaded_reference()
        {
            Lifetime.Bounded(async () =>
            {
                IReadOnlyList<(long Label, float[] Pixels)> samples = Lifetime.DigitSamples();
                using Digits model = Digits.Load();
                Answer[] reference = samples.Select(s =>
                {
                    Digits.Result r = model.Run(s.Pixels);
                    return new Answer(r.Label[0], r.Probabilities.ToArray());
                }).ToArray();

                var log = new ErrorLog();
                (WebApplication app, HttpClient client) = await StartAsync(model, samples, log);
                await using (app)
                using (client)
                {
                    string[] routes = { "sync", "sync-then-await", "async", "owned", "to-owned" };
                    int failed = 0, wrong = 0;
                    var problems = new List<string>();
                    await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (n, ct) =>
                    {
                        int i = n % samples.Count;
                        string route = routes[n % routes.Length];
                        using HttpResponseMessage response = await client.GetAsync($"/{route}/{i}", ct);
                        string body = await response.Content.ReadAsStringAsync(ct);
                        string? problem = response.StatusCode != HttpStatusCode.OK ? $"{route}: {(int)response.StatusCode}" : Compare(route, body, reference[i]);
                        if (problem != null)
                        {
                            lock (problems)
                            {
                                if (response.StatusCode != HttpStatusCode.OK)
                                {
                                    failed++;
                                }
                                else
                                {
                                    wrong++;
                                }

                                if (problems.Count < 5)
                                {
                                    problems.Add(problem);
                                }
                            }
                        }
                    });

                    using HttpResponseMessage ok = await client.GetAsync("/ok");
                    string figures = $"2000 requests over {routes.Length} endpoints, 64 in flight: {failed} failed, {wrong} wrong; " +
                                     $"{model.RequestsHeld} requests held after; {string.Join(" | ", problems)} {log}";
                    _output.WriteLine(figures);
                    Assert.True(failed == 0 && wrong == 0, figures);
                    Assert.Equal("ok", await ok.Content.ReadAsStringAsync());

                    // Requests follow concurrency: once the load is gone, those beyond the idle pool are released.
                    var idle = System.Diagnostics.Stopwatch.StartNew();
                    while (model.RequestsHeld > model.Options.MaxIdleRequests && idle.Elapsed < TimeSpan.FromSeconds(10))
                    {
                        await Task.Delay(100);
                    }

                    _output.WriteLine($"{model.RequestsHeld} requests held {idle.Elapsed.TotalSeconds:F1} s after the load (idle pool {model.Options.MaxIdleRequests})");
                    Assert.True(model.RequestsHeld <= model.Options.MaxIdleRequests, $"{model.RequestsHeld} requests held 10 s after the load");
                }
            }, TimeSpan.FromSeconds(90));
        }

        private static string? Compare(string route, string body, Answer expected)
        {
            using JsonDocument json = JsonDocument.Parse(body);
            JsonElement root = json.RootElement;
            long label;
            float[] probabilities;
            if (route is "owned" or "to-owned")
            {
                // The owned result itself, serialized: each output as nested arrays of its shape ([1] and [1, 10]).
                label = root.GetProperty("label")[0].GetInt64();
                probabilities = root.GetProperty("probabilities")[0].EnumerateArray().Select(e => e.GetSingle()).ToArray();
            }
            else
            {
                label = root.GetProperty("label").GetInt64();
                probabilities = root.GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            }

            if (label != expected.Label)
            {
                return $"{route}: label {label}, expected {expected.Label}";
            }

            // JSON's shortest round-trip text of a float parses back to the same float.
            return probabilities.SequenceEqual(expected.Probabilities) ? null : $"{route}: probabilities differ";
        }

        private static async Task<(WebApplication App, HttpClient Client)> StartAsync(Digits model, IReadOnlyList<(long Label, float[] Pixels)> samples, ErrorLog log)
        {
            WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddSingleton(model);
            WebApplication app = builder.Build();

            app.MapGet("/ok", () => "ok");

            // Synchronous run, read right away (the rule: a synchronous result is read before the code awaits).
            app.MapGet("/sync/{i:int}", (int i, Digits digits) =>
            {
                Digits.Result r = digits.Run(samples[i].Pixels);
                return new { label = r.Label[0], probabilities = r.Probabilities.ToArray() };
            });

            // The same, then an await: what is kept across it are copies.
            app.MapGet("/sync-then-await/{i:int}", async (int i, Digits digits) =>
            {
                (long label, float[] probabilities) = Read(digits.Run(samples[i].Pixels));
                await Task.Delay(1);
                return new { label, probabilities };
            });

            // An owned result kept across awaits.
            app.MapGet("/async/{i:int}", async (int i, Digits digits, CancellationToken ct) =>
            {
                using Digits.OwnedResult r = await digits.RunAsync(samples[i].Pixels, cancellationToken: ct);
                await Task.Delay(1, ct);
                return new { label = r.Label[0], probabilities = r.Probabilities.ToArray() };
            });

            // An owned result handed to the serializer (never disposed: it is simply collected).
            app.MapGet("/owned/{i:int}", async (int i, Digits digits) => await digits.RunAsync(samples[i].Pixels));

            // A synchronous result made owned, handed to the serializer.
            app.MapGet("/to-owned/{i:int}", (int i, Digits digits) => digits.Run(samples[i].Pixels).ToOwned());

            await app.StartAsync();
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
            return (app, client);

            static (long, float[]) Read(Digits.Result r) => (r.Label[0], r.Probabilities.ToArray());
        }

        /// <summary>Keeps what the server logs as errors (a 500's exception), for the failure message.</summary>
        private sealed class ErrorLog : ILoggerProvider, ILogger
        {
            private readonly List<string> _errors = new List<string>();

            public ILogger CreateLogger(string categoryName) => this;

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (_errors)
                {
                    if (_errors.Count < 5)
                    {
                        _errors.Add(exception?.GetType().Name + ": " + (exception?.Message ?? formatter(state, null)));
                    }
                }
            }

            public void Dispose()
            {
            }

            public override string ToString()
            {
                lock (_errors)
                {
                    return _errors.Count == 0 ? string.Empty : "server logged: " + string.Join(" | ", _errors);
                }
            }
        }
    }
}
