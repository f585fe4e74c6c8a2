using System.Linq;
using System.Threading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelSdk;
using ModelSdk.Hosting;
using WebApi;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// One Digits for the whole app, loaded and checked at start, reloaded in place when models/digits.onnx changes.
builder.Services.AddOnnxModel<Digits>(builder.Configuration.GetSection("Models:Digits"));
builder.Services.AddHealthChecks().AddOnnxModelCheck<Digits>();

// The same classifier over a batch dim, behind a dynamic batcher: concurrent requests share batched runs
// (Models:DigitsBatch:Batching says how many items a run takes and how long a request may wait for others).
builder.Services.AddOnnxModel<DigitsBatch>(builder.Configuration.GetSection("Models:DigitsBatch"));
builder.Services.AddOnnxModelBatcher<DigitsBatch.Batcher>();
builder.Services.AddHealthChecks().AddOnnxModelCheck<DigitsBatch>();

// A scikit-learn classifier as skl2onnx converts it (its probabilities are a ZipMap); Labels names its classes.
builder.Services.AddOnnxModel<IrisClassifier>(builder.Configuration.GetSection("Models:Iris"));

WebApplication app = builder.Build();

// POST a JSON array of 64 pixels (0..16, row-major 8x8): the digit, its probability, and all ten.
app.MapPost("/predict", (float[] pixels, Digits model) =>
{
    if (pixels.Length != Digits.Inputs.Pixels.ElementCount)
    {
        return Results.BadRequest(new { error = $"Send {Digits.Inputs.Pixels.ElementCount} pixels (an 8x8 image, row-major, values 0..16); got {pixels.Length}." });
    }

    // The result's views are read before the endpoint returns (the lifetime rule): copy what the response keeps.
    Digits.Result result = model.Run(pixels);
    long label = result.Label[0];
    float[] probabilities = result.Probabilities.ToArray();
    return Results.Ok(new Prediction(label, probabilities[label], probabilities));
});

// The same answer through the batcher: each request awaits its own row of a batched run, and owns its result.
app.MapPost("/predict/batched", async (float[] pixels, DigitsBatch.Batcher batcher, CancellationToken ct) =>
{
    if (pixels.Length != DigitsBatch.Inputs.Pixels.Dim1)
    {
        return Results.BadRequest(new { error = $"Send {DigitsBatch.Inputs.Pixels.Dim1} pixels (an 8x8 image, row-major, values 0..16); got {pixels.Length}." });
    }

    try
    {
        using DigitsBatch.ItemResult result = await batcher.RunAsync(pixels, ct);
        long label = result.Label[0];
        float[] probabilities = result.Probabilities.ToArray();
        return Results.Ok(new Prediction(label, probabilities[label], probabilities));
    }
    catch (BatchQueueFullException)
    {
        return Results.Problem("Too many requests are waiting for the model; retry shortly.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
});

// POST 4 iris measurements (sepal length, sepal width, petal length, petal width, in cm): the species and the classes' scores.
app.MapPost("/classify", (float[] features, IrisClassifier model) =>
{
    if (features.Length != 4)
    {
        return Results.BadRequest(new { error = $"Send 4 measurements (sepal length, sepal width, petal length, petal width); got {features.Length}." });
    }

    IrisClassifier.Result result = model.Run(features, floatInputDim0: 1);
    Prediction<long> best = result.Best();                          // label, score and name, read before the handler returns
    var scores = result.TopK(3).Select(p => new ClassScore(p.Name!, p.Score)).ToArray();
    return Results.Ok(new IrisAnswer(best.Name!, best.Score, scores));
});

// Healthy, Degraded (a new file failed to load; the previous version still serves) or Unhealthy.
app.MapHealthChecks("/health");

// Reload on demand (a deployment step can call it instead of relying on the file watcher).
app.MapPost("/admin/reload", async (IModelReloader<Digits> reloader, CancellationToken ct) =>
{
    ModelReloadResult result = await reloader.ReloadAsync(ct);
    return Results.Ok(new { outcome = result.Outcome.ToString(), version = result.Version, error = result.Error?.Message });
});

app.Run();

/// <summary>What <c>/predict</c> answers.</summary>
/// <param name="Label">The predicted digit.</param>
/// <param name="Probability">Its probability.</param>
/// <param name="Probabilities">The probability of each digit 0..9.</param>
internal sealed record Prediction(long Label, float Probability, float[] Probabilities);

/// <summary>What <c>/classify</c> answers.</summary>
/// <param name="Species">The most likely species.</param>
/// <param name="Probability">Its probability.</param>
/// <param name="Scores">Every species with its probability, best first.</param>
internal sealed record IrisAnswer(string Species, float Probability, ClassScore[] Scores);

/// <summary>One species and its probability.</summary>
internal sealed record ClassScore(string Species, float Probability);

/// <summary>The app's entry point (public for the tests' <c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program
{
}
