using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// Issue 4's throughput figure, measured so that machine noise cancels: each round times the same
    /// batch of images run sequentially and through queues of 1, 2 and 4 jobs back to back, and the
    /// per-round ratios are summarized (a slow moment hits the paths of that round alike).
    ///   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- throughput
    /// </summary>
    internal static class ThroughputHarness
    {
        public static async Task RunAsync()
        {
            const int Images = 64, Rounds = 15;
            int[] jobCounts = { 1, 2, 4 };
            using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
            float[][] images = Enumerable.Range(0, Images).Select(i => Bench.RandomFloats(ComputeBound.Inputs.X.ElementCount, seed: i)).ToArray();
            var queues = jobCounts.Select(jobs => model.CreateQueue(jobs)).ToArray();
            try
            {
                double expected = Sequential(model, images);
                foreach (ComputeBound.Queue queue in queues)
                {
                    double sum = await ThroughQueue(queue, images);
                    if (Math.Abs(sum - expected) > 1e-3 * Math.Abs(expected))
                    {
                        throw new InvalidOperationException($"a queue of {queue.Count} computed {sum}, sequential runs {expected}");
                    }
                }

                var ratios = jobCounts.Select(_ => new List<double>()).ToArray();
                var sequentialRates = new List<double>();
                for (int round = 0; round < Rounds; round++)
                {
                    double sequential = Time(() => Sequential(model, images));
                    sequentialRates.Add(Images / sequential);
                    for (int q = 0; q < queues.Length; q++)
                    {
                        ComputeBound.Queue queue = queues[q];
                        double queued = await TimeAsync(() => ThroughQueue(queue, images));
                        ratios[q].Add(sequential / queued);
                    }
                }

                Console.WriteLine($"compute_bound.onnx, 1 ONNX Runtime thread per run, {Images} images per round, {Rounds} rounds, {Environment.ProcessorCount} cores");
                Console.WriteLine($"sequential Run: {Median(sequentialRates):0} images/s (median of rounds)");
                Console.WriteLine("| path | images/s vs sequential Run (median of rounds) | p25 | p75 |");
                Console.WriteLine("|---|---:|---:|---:|");
                for (int q = 0; q < queues.Length; q++)
                {
                    Console.WriteLine($"| queue, {jobCounts[q]} job(s) | {Median(ratios[q]):0.00}x | {Percentile(ratios[q], 0.25):0.00}x | {Percentile(ratios[q], 0.75):0.00}x |");
                }
            }
            finally
            {
                foreach (ComputeBound.Queue queue in queues)
                {
                    queue.Dispose();
                }
            }
        }

        private static double Sequential(ComputeBound model, float[][] images)
        {
            double sum = 0;
            foreach (float[] image in images)
            {
                sum += model.Run(image).Y[0];
            }

            return sum;
        }

        private static async Task<double> ThroughQueue(ComputeBound.Queue queue, float[][] images)
        {
            double sum = 0;
            var gate = new object();
            queue.SetCallback((request, _) =>
            {
                float y = request.Result.Y[0];
                lock (gate)
                {
                    sum += y;
                }
            });
            foreach (float[] image in images)
            {
                await queue.StartAsync(image);
            }

            await queue.WaitAllAsync();
            return sum;
        }

        private static double Time(Action action)
        {
            var watch = Stopwatch.StartNew();
            action();
            return watch.Elapsed.TotalSeconds;
        }

        private static async Task<double> TimeAsync(Func<Task> action)
        {
            var watch = Stopwatch.StartNew();
            await action();
            return watch.Elapsed.TotalSeconds;
        }

        private static double Median(List<double> values) => Percentile(values, 0.5);

        private static double Percentile(List<double> values, double p)
        {
            List<double> sorted = values.OrderBy(v => v).ToList();
            return sorted[(int)Math.Round(p * (sorted.Count - 1))];
        }
    }
}
