// Latency hiding: while the model runs on one input (on the thread pool), the caller prepares the
// next one. Compared with doing both in turn, the preparation time disappears behind the inference.
// The machine may be shared, so each round times both ways back to back, together with two plain
// CPU-bound loops run in turn and in parallel (what this machine's cores allow at that moment), and
// the medians over the rounds are printed.
using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using LatencyHiding;
using ModelSdk;

const int Frames = 30;
const int Rounds = 9;
using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
var raw = new float[Frames][];
var random = new Random(1);
for (int i = 0; i < Frames; i++)
{
    raw[i] = new float[ComputeBound.Inputs.X.ElementCount];
    for (int j = 0; j < raw[i].Length; j++)
    {
        raw[i][j] = (float)random.NextDouble() * 255;
    }
}

// One buffer for the prepared frame is enough: RunAsync copies its inputs when the run starts (the default
// for runs that outlive the call), so the buffer can be refilled while the model runs.
var next = new float[ComputeBound.Inputs.X.ElementCount];
var spare = new float[next.Length];

// Warm up both ways (first-run costs are not what we measure).
double expected = InTurn();
await Overlapped();

// What each half costs alone, and so the best overlap can do: (prepare + run) / max(prepare, run).
double prepareMs = Time(() => { foreach (float[] frame in raw) Preprocess(frame, next); }) / Frames;
double runMs = Time(() => { for (int i = 0; i < Frames; i++) model.Run(next); }) / Frames;

var speedups = new double[Rounds];
var machine = new double[Rounds];
var inTurnMs = new double[Rounds];
var overlappedMs = new double[Rounds];
bool sameResults = true;
for (int round = 0; round < Rounds; round++)
{
    double checksum = 0;
    inTurnMs[round] = Time(() => checksum = InTurn()) / Frames;
    sameResults &= Math.Abs(checksum - expected) <= 1e-3 * Math.Abs(expected);

    var watch = Stopwatch.StartNew();
    checksum = await Overlapped();
    overlappedMs[round] = watch.Elapsed.TotalMilliseconds / Frames;
    sameResults &= Math.Abs(checksum - expected) <= 1e-3 * Math.Abs(expected);
    speedups[round] = inTurnMs[round] / overlappedMs[round];

    // The machine's share of a second core right now: two preprocessing loops, in turn and then in parallel.
    double twoInTurn = Time(() => { PrepareAll(next); PrepareAll(spare); });
    double twoInParallel = Time(() => Task.WaitAll(Task.Run(() => PrepareAll(next)), Task.Run(() => PrepareAll(spare))));
    machine[round] = twoInTurn / twoInParallel;
}

Console.WriteLine($"model {ComputeBound.DefaultModelPath}, 1 ONNX Runtime thread, {Environment.ProcessorCount} cores; {Rounds} rounds of {Frames} frames each way");
Console.WriteLine($"prepare one frame alone     : {prepareMs,6:0.00} ms");
Console.WriteLine($"run one frame alone         : {runMs,6:0.00} ms");
Console.WriteLine($"prepare, then run, in turn  : {Median(inTurnMs),6:0.00} ms per frame");
Console.WriteLine($"prepare next while running  : {Median(overlappedMs),6:0.00} ms per frame");
Console.WriteLine($"speedup: {Median(speedups):0.00}x (rounds {speedups.Min():0.00}-{speedups.Max():0.00}x; same results: {sameResults})");
Console.WriteLine($"  best possible with two free cores: {(prepareMs + runMs) / Math.Max(prepareMs, runMs):0.00}x; " +
                  $"two plain CPU-bound loops ran {Median(machine):0.00}x faster in parallel than in turn on this machine meanwhile");

// 1. In turn: prepare a frame, run it, prepare the next ...
double InTurn()
{
    double checksum = 0;
    for (int i = 0; i < Frames; i++)
    {
        Preprocess(raw[i], next);
        checksum += model.Run(next).Y[0];
    }

    return checksum;
}

// 2. Overlapped: start frame i, prepare frame i+1 while it runs, then collect frame i.
async Task<double> Overlapped()
{
    double checksum = 0;
    Preprocess(raw[0], next);
    for (int i = 0; i < Frames; i++)
    {
        ValueTask<ComputeBound.OwnedResult> running = model.RunAsync(next);   // copies the input; the caller's thread is free
        if (i + 1 < Frames)
        {
            Preprocess(raw[i + 1], next);                                 // ... and prepares the next frame meanwhile
        }

        using ComputeBound.OwnedResult result = await running;
        checksum += result.Y[0];
    }

    return checksum;
}

void PrepareAll(float[] output)
{
    foreach (float[] frame in raw)
    {
        Preprocess(frame, output);
    }
}

static double Time(Action action)
{
    var watch = Stopwatch.StartNew();
    action();
    return watch.Elapsed.TotalMilliseconds;
}

static double Median(double[] values) => values.OrderBy(v => v).ElementAt(values.Length / 2);

// A stand-in for real preprocessing (decode, resize, normalize): CPU work comparable to the inference.
static void Preprocess(float[] pixels, float[] output)
{
    const int Side = 256;
    for (int y = 0; y < Side; y++)
    {
        for (int x = 0; x < Side; x++)
        {
            // 3x3 box blur, then scale to [-1, 1]
            float sum = 0;
            int count = 0;
            for (int dy = -1; dy <= 1; dy++)
            {
                for (int dx = -1; dx <= 1; dx++)
                {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < Side && xx >= 0 && xx < Side)
                    {
                        sum += pixels[(yy * Side) + xx];
                        count++;
                    }
                }
            }

            output[(y * Side) + x] = MathF.Tanh((sum / count / 127.5f) - 1f);
        }
    }
}
