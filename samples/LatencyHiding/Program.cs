// Latency hiding: while the model runs on one input (on the thread pool), the caller prepares the
// next one. Compared with doing both in turn, the preparation time disappears behind the inference.
using System;
using System.Diagnostics;
using System.Threading.Tasks;
using LatencyHiding;
using ModelSdk;

const int Frames = 60;
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

// Warm up both paths (first-run costs are not what we measure).
float[] warm = Preprocess(raw[0]);
model.Run(warm);
using (await model.RunAsync(warm))
{
}

// 1. In turn: prepare a frame, run it, prepare the next ...
var sequential = Stopwatch.StartNew();
double checksumSequential = 0;
for (int i = 0; i < Frames; i++)
{
    float[] input = Preprocess(raw[i]);
    checksumSequential += model.Run(input).Y[0];
}

sequential.Stop();

// 2. Overlapped: start frame i, prepare frame i+1 while it runs, then collect frame i.
var overlapped = Stopwatch.StartNew();
double checksumOverlapped = 0;
float[] next = Preprocess(raw[0]);
for (int i = 0; i < Frames; i++)
{
    ValueTask<ComputeBound.Result> running = model.RunAsync(next);   // the input is copied; the caller's thread is free
    if (i + 1 < Frames)
    {
        next = Preprocess(raw[i + 1]);                                 // ... and prepares the next frame meanwhile
    }

    using ComputeBound.Result result = await running;
    checksumOverlapped += result.Y[0];
}

overlapped.Stop();

Console.WriteLine($"{Frames} frames, model {ComputeBound.DefaultModelPath} with 1 ONNX Runtime thread, on {Environment.ProcessorCount} cores");
Console.WriteLine($"prepare, then run, in turn : {sequential.Elapsed.TotalMilliseconds,8:0.0} ms ({Frames / sequential.Elapsed.TotalSeconds,6:0.0} frames/s)");
Console.WriteLine($"prepare next while running : {overlapped.Elapsed.TotalMilliseconds,8:0.0} ms ({Frames / overlapped.Elapsed.TotalSeconds,6:0.0} frames/s)");
Console.WriteLine($"speedup: {sequential.Elapsed.TotalMilliseconds / overlapped.Elapsed.TotalMilliseconds:0.00}x (same results: {Math.Abs(checksumSequential - checksumOverlapped) < 1e-3 * Math.Abs(checksumSequential)})");

// A stand-in for real preprocessing (decode, resize, normalize): CPU work comparable to the inference.
static float[] Preprocess(float[] pixels)
{
    var output = new float[pixels.Length];
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

    return output;
}
