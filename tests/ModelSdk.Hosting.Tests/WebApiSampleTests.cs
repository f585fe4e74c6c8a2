using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Mvc.Testing;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Hosting.Tests
{
    /// <summary>samples/WebApi as its README section shows it: predictions as JSON, bad input as 400, health.</summary>
    [Collection("Serving")]
    public class WebApiSampleTests
    {
        private sealed record Prediction(long Label, float Probability, float[] Probabilities);

        [Fact]
        public void The_sample_predicts_held_out_digits_answers_bad_input_with_400_and_reports_health()
        {
            Stress.Bounded(async () =>
            {
                await using var factory = new WebApplicationFactory<Program>();
                using HttpClient client = factory.CreateClient();
                var samples = Serving.DigitSamples();
                int right = 0;
                foreach ((long truth, float[] pixels) in samples)
                {
                    using HttpResponseMessage response = await client.PostAsJsonAsync("/predict", pixels);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Prediction p = (await response.Content.ReadFromJsonAsync<Prediction>(JsonSerializerOptions.Web))!;
                    Assert.Equal(10, p.Probabilities.Length);
                    Assert.Equal(p.Probabilities.Max(), p.Probability);
                    Assert.Equal(Array.IndexOf(p.Probabilities, p.Probability), p.Label);
                    right += p.Label == truth ? 1 : 0;
                }

                Assert.Equal(49, right); // as the QuickStart: 49 of the 50 held-out digits

                // The batched endpoint, all samples at once: the same answers as the direct one.
                Prediction[] direct = await Task.WhenAll(samples.Select(async s =>
                    (await (await client.PostAsJsonAsync("/predict", s.Pixels)).Content.ReadFromJsonAsync<Prediction>(JsonSerializerOptions.Web))!));
                Prediction[] batched = await Task.WhenAll(samples.Select(async s =>
                {
                    using HttpResponseMessage response = await client.PostAsJsonAsync("/predict/batched", s.Pixels);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    return (await response.Content.ReadFromJsonAsync<Prediction>(JsonSerializerOptions.Web))!;
                }));
                for (int i = 0; i < samples.Count; i++)
                {
                    Assert.Equal(direct[i].Label, batched[i].Label);
                    Assert.Equal(direct[i].Probabilities, batched[i].Probabilities);
                }

                using HttpResponseMessage badBatched = await client.PostAsJsonAsync("/predict/batched", new float[] { 1, 2 });
                Assert.Equal(HttpStatusCode.BadRequest, badBatched.StatusCode);

                using HttpResponseMessage bad = await client.PostAsJsonAsync("/predict", new float[] { 1, 2 });
                Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
                Assert.Contains("Send 64 pixels", await bad.Content.ReadAsStringAsync());

                // The iris classifier: every held-out row classified right, with the label names from the Labels file.
                foreach (string line in System.IO.File.ReadAllLines(System.IO.Path.Combine(AppContext.BaseDirectory, "iris_samples.csv")).Skip(1))
                {
                    string[] fields = line.Split(',');
                    float[] features = fields.Skip(1).Select(f => float.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                    using HttpResponseMessage response = await client.PostAsJsonAsync("/classify", features);
                    using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    Assert.Equal(fields[0], answer.RootElement.GetProperty("species").GetString());
                    Assert.Equal(3, answer.RootElement.GetProperty("scores").GetArrayLength());
                }

                using HttpResponseMessage badIris = await client.PostAsJsonAsync("/classify", new float[] { 1, 2 });
                Assert.Equal(HttpStatusCode.BadRequest, badIris.StatusCode);

                Assert.Equal("Healthy", await client.GetStringAsync("/health"));
                using HttpResponseMessage reload = await client.PostAsync("/admin/reload", null);
                Assert.Contains("\"outcome\":\"Unchanged\"", await reload.Content.ReadAsStringAsync());
            }, TimeSpan.FromSeconds(60));
        }
    }
}
