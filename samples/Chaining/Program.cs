// Postponed return: the encoder's features go straight into the head (no copy through managed
// memory), and the head is asked for its label only (its probabilities are not produced).
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Chaining;

using Encoder encoder = Encoder.Load();
using Head head = Head.Load();

string[] rows = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "digits_samples.csv")).Skip(1).ToArray();
float[][] pixels = rows.Select(r => r.Split(',').Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
long[] truth = rows.Select(r => long.Parse(r.Split(',')[0], CultureInfo.InvariantCulture)).ToArray();

int correct = 0;
for (int i = 0; i < pixels.Length; i++)
{
    Encoder.Result features = encoder.Run(pixels[i]);
    long label = head.Run(features.Features, Head.Outputs.Label).Label[0];   // the view is the head's input, in place
    correct += label == truth[i] ? 1 : 0;
}

Console.WriteLine($"encoder -> head on {pixels.Length} held-out digits: {correct}/{pixels.Length} correct");

// What it saves: the same chain, copying the features through a managed array and reading every output.
// (A rough timing; tests/ModelSdk.Benchmarks measures it properly.)
const int Rounds = 20_000;
Measure(Chained, Rounds / 10); // warm up both paths
Measure(Copied, Rounds / 10);
(double chainedUs, long labels1) = Measure(Chained, Rounds);
(double copiedUs, long labels2) = Measure(Copied, Rounds);
Console.WriteLine($"chained, label only  : {chainedUs,6:0.00} us per sample, {AllocatedPerCall(Chained):0} bytes allocated per sample");
Console.WriteLine($"copied, every output : {copiedUs,6:0.00} us per sample, {AllocatedPerCall(Copied):0} bytes allocated per sample");
Console.WriteLine($"copied / chained: {copiedUs / chainedUs:0.00}x (same labels: {labels1 == labels2})");

long Chained(int i) => head.Run(encoder.Run(pixels[i % pixels.Length]).Features, Head.Outputs.Label).Label[0];

long Copied(int i)
{
    float[] features = encoder.Run(pixels[i % pixels.Length]).Features.ToArray();   // copy out ...
    Head.Result all = head.Run(features);                                            // ... and back in
    float[] probabilities = all.Probabilities.ToArray();                             // every output read
    return all.Label[0] + (probabilities.Length == 10 ? 0 : 1);
}

static (double MicrosecondsPerCall, long LabelSum) Measure(Func<int, long> body, int rounds)
{
    long sum = 0;
    var watch = Stopwatch.StartNew();
    for (int i = 0; i < rounds; i++)
    {
        sum += body(i);
    }

    return (watch.Elapsed.TotalMicroseconds / rounds, sum);
}

static double AllocatedPerCall(Func<int, long> body)
{
    long before = GC.GetAllocatedBytesForCurrentThread();
    for (int i = 0; i < 1000; i++)
    {
        body(i);
    }

    return (GC.GetAllocatedBytesForCurrentThread() - before) / 1000.0;
}
