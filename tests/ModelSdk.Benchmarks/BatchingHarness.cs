using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// Dynamic batching's figures, in paired rounds (each round runs every path back to back, so a slow moment of
    /// this shared machine hits them alike; medians of rounds are quoted):
    ///   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- batching [mlp|digits|compute]
    /// Closed loop: C callers each await one item at a time, as requests of a service do. Paths: the batcher,
    /// RunAsync per item, a queue of 2 jobs, and synchronous Run from 2 threads (the best a non-batching caller gets
    /// from 2 cores). Every path uses the same model with 1 ONNX Runtime thread per run.
    /// </summary>
    internal static class BatchingHarness
    {
        private static readonly int[] Concurrencies = Environment.GetEnvironmentVariable("MODELSDK_BATCH_CALLERS") is string c
            ? c.Split(',').Select(int.Parse).ToArray()
            : new[] { 1, 2, 4, 8, 16, 32, 64 };
        private static readonly int[] BatchSizes = { 1, 4, 8, 16, 32, 64 };
        private const int Rounds = 5;
        private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(700);

        public static async Task RunAsync(string which)
        {
            Console.WriteLine($"{Environment.ProcessorCount} cores, {Rounds} rounds of {Slice.TotalMilliseconds:0} ms per path and point, medians of rounds");
            var options = new ModelOptions { IntraOpNumThreads = 1 };
            if (which is "mlp" or "all")
            {
                using MlpMidBatch model = MlpMidBatch.Load(options);
                float[] x = Bench.RandomFloats(256, seed: 1);
                await Measure("mlp_mid_batch ([batch, 256] -> [batch, 10])", new Paths(
                    () => model.Run(x).Logits[0],
                    async () => { using MlpMidBatch.OwnedResult r = await model.RunAsync(x); return r.Logits[0]; },
                    jobs => new QueuePath<MlpMidBatch.Request>(model.CreateQueue(jobs), (q, s) => ((MlpMidBatch.Queue)q).StartAsync(x, userdata: s), r => r.Result.Logits[0]),
                    o => BatcherPath(model.CreateBatcher(o), b => b.RunAsync(x), r => r.Logits[0]),
                    n => { float[] rows = Enumerable.Repeat(x, n).SelectMany(v => v).ToArray(); return () => model.Run(rows).Logits[0]; }));
            }

            if (which is "digits" or "all")
            {
                using DigitsBatch model = DigitsBatch.Load(options);
                float[] x = Bench.RandomFloats(64, seed: 2).Select(v => Math.Abs(v) * 16).ToArray();
                await Measure("digits_batch ([batch, 64] -> [batch], [batch, 10])", new Paths(
                    () => model.Run(x).Label[0],
                    async () => { using DigitsBatch.OwnedResult r = await model.RunAsync(x); return r.Label[0]; },
                    jobs => new QueuePath<DigitsBatch.Request>(model.CreateQueue(jobs), (q, s) => ((DigitsBatch.Queue)q).StartAsync(x, userdata: s), r => r.Result.Label[0]),
                    o => BatcherPath(model.CreateBatcher(o), b => b.RunAsync(x), r => r.Label[0]),
                    n => { float[] rows = Enumerable.Repeat(x, n).SelectMany(v => v).ToArray(); return () => model.Run(rows).Label[0]; }));
            }

            if (which is "compute" or "all")
            {
                using ComputeBoundBatch model = ComputeBoundBatch.Load(options);
                float[] x = Bench.RandomFloats(256 * 256, seed: 3);
                await Measure("compute_bound_batch ([batch, 256, 256] -> [batch, 256])", new Paths(
                    () => model.Run(x).Y[0],
                    async () => { using ComputeBoundBatch.OwnedResult r = await model.RunAsync(x); return r.Y[0]; },
                    jobs => new QueuePath<ComputeBoundBatch.Request>(model.CreateQueue(jobs), (q, s) => ((ComputeBoundBatch.Queue)q).StartAsync(x, userdata: s), r => r.Result.Y[0]),
                    o => BatcherPath(model.CreateBatcher(o), b => b.RunAsync(x), r => r.Y[0]),
                    n => { float[] rows = Enumerable.Repeat(x, n).SelectMany(v => v).ToArray(); return () => model.Run(rows).Y[0]; }),
                    concurrencies: new[] { 1, 2, 4, 8, 16 }, batchSizes: new[] { 1, 2, 4, 8 });
            }
        }

        /// <summary>How to run one item on each path.</summary>
        private sealed record Paths(
            Func<double> Run,
            Func<Task<double>> RunAsync,
            Func<int, IItemPath> Queue,
            Func<BatchingOptions, IItemPath> Batcher,
            Func<int, Func<double>> RunBatchOf);

        private interface IItemPath : IDisposable
        {
            Task<double> RunItemAsync();
        }

        private static IItemPath BatcherPath<TBatcher, TResult>(TBatcher batcher, Func<TBatcher, ValueTask<TResult>> run, Func<TResult, double> read)
            where TBatcher : ModelBatcher
            where TResult : IDisposable => new DelegatePath(async () =>
            {
                using TResult r = await run(batcher);
                return read(r);
            }, batcher);

        private sealed class DelegatePath : IItemPath
        {
            private readonly Func<Task<double>> _run;

            public DelegatePath(Func<Task<double>> run, ModelBatcher batcher)
            {
                _run = run;
                Batcher = batcher;
            }

            public ModelBatcher Batcher { get; }

            public Task<double> RunItemAsync() => _run();

            public void Dispose() => Batcher.Dispose();
        }

        /// <summary>A queue of jobs used per item: start with a completion as userdata, the callback completes it.</summary>
        private sealed class QueuePath<TRequest> : IItemPath
            where TRequest : TypedRequest<TRequest>
        {
            private readonly AsyncInferQueue<TRequest> _queue;
            private readonly Func<AsyncInferQueue<TRequest>, object, ValueTask> _start;

            public QueuePath(AsyncInferQueue<TRequest> queue, Func<AsyncInferQueue<TRequest>, object, ValueTask> start, Func<TRequest, double> read)
            {
                _queue = queue;
                _start = start;
                queue.SetCallback((request, state) => ((TaskCompletionSource<double>)state!).TrySetResult(read(request)));
            }

            public async Task<double> RunItemAsync()
            {
                var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
                await _start(_queue, done);
                return await done.Task;
            }

            public void Dispose() => _queue.Dispose();
        }

        private static async Task Measure(string title, Paths paths, int[]? concurrencies = null, int[]? batchSizes = null)
        {
            concurrencies ??= Concurrencies;
            batchSizes ??= BatchSizes;
            int maxBatch = batchSizes.Max() >= 32 ? 32 : batchSizes.Max();
            Console.WriteLine();
            Console.WriteLine($"## {title}");

            // Warm up every path once.
            paths.Run();
            await paths.RunAsync();

            // One caller alone: latency of each path per call, and bytes allocated per call (all threads).
            using (IItemPath lone = paths.Batcher(new BatchingOptions { MaxBatchSize = maxBatch }))
            {
                var ratios = new List<double>();
                var asyncRatios = new List<double>();
                double runUs = 0, batcherUs = 0;
                for (int round = 0; round < Rounds; round++)
                {
                    double run = PerCall(() => paths.Run());
                    double batched = await PerCallAsync(lone.RunItemAsync);
                    double runAsync = await PerCallAsync(paths.RunAsync);
                    ratios.Add(batched / run);
                    asyncRatios.Add(batched / runAsync);
                    runUs = run * 1e6;
                    batcherUs = batched * 1e6;
                }

                long batcherBytes = await BytesPerCallAsync(lone.RunItemAsync);
                long runAsyncBytes = await BytesPerCallAsync(paths.RunAsync);
                Console.WriteLine($"one caller, MaxDelay 0: batcher {Median(ratios):0.00}x the latency of direct Run (last round {batcherUs:0.0} us vs {runUs:0.0} us), " +
                                  $"{Median(asyncRatios):0.00}x RunAsync; {batcherBytes} B per call (RunAsync {runAsyncBytes} B)");
            }

            // Batch run times, for the p99 bound (MaxDelay + two batch runs).
            double fullBatch = Enumerable.Range(0, Rounds).Select(_ => PerCall(() => paths.RunBatchOf(maxBatch)())).OrderBy(v => v).ElementAt(Rounds / 2);
            Console.WriteLine($"one run of a batch of {maxBatch}: {fullBatch * 1e3:0.00} ms");

            Console.WriteLine();
            Console.WriteLine($"| callers | Run, 2 threads | RunAsync | queue, 2 jobs | batcher (max {maxBatch}, delay 0) | batcher vs best other | batcher p50 / p99 latency | mean batch |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (int callers in concurrencies)
            {
                using IItemPath queue = paths.Queue(2);
                var options = new BatchingOptions { MaxBatchSize = maxBatch };
                using IItemPath batcher = paths.Batcher(options);
                var rates = new List<double>[4] { new(), new(), new(), new() };
                var best = new List<double>();
                var latencies = new List<double>();
                long items0 = 0, batches0 = 0;
                ModelBatcher b = ((DelegatePath)batcher).Batcher;
                for (int round = 0; round < Rounds; round++)
                {
                    double threads = TwoThreads(paths.Run);
                    double runAsync = (await ClosedLoop(paths.RunAsync, callers, null)).Rate;
                    double queued = (await ClosedLoop(queue.RunItemAsync, callers, null)).Rate;
                    items0 = b.ItemsRun;
                    batches0 = b.BatchesRun;
                    double batched = (await ClosedLoop(batcher.RunItemAsync, callers, latencies)).Rate;
                    rates[0].Add(threads);
                    rates[1].Add(runAsync);
                    rates[2].Add(queued);
                    rates[3].Add(batched);
                    best.Add(batched / Math.Max(threads, Math.Max(runAsync, queued)));
                }

                double meanBatch = (double)(b.ItemsRun - items0) / Math.Max(1, b.BatchesRun - batches0);
                Console.WriteLine($"| {callers} | {Median(rates[0]):0} /s | {Median(rates[1]):0} /s | {Median(rates[2]):0} /s | {Median(rates[3]):0} /s | {Median(best):0.00}x | " +
                                  $"{Percentile(latencies, 0.5) * 1e3:0.00} / {Percentile(latencies, 0.99) * 1e3:0.00} ms | {meanBatch:0.0} |");
            }

            // At the most callers: throughput and latency as a function of MaxBatchSize, and with a 2 ms MaxDelay.
            int most = concurrencies.Max();
            Console.WriteLine();
            Console.WriteLine($"{most} callers: batcher throughput by MaxBatchSize (delay 0), vs Run from 2 threads in the same rounds");
            Console.WriteLine("| MaxBatchSize | MaxDelay | items/s | vs Run, 2 threads | p50 / p99 latency | p99 bound (delay + 2 batch runs) |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
            foreach ((int size, double delayMs) in batchSizes.Select(s => (s, 0.0)).Append((maxBatch, 2.0)))
            {
                using IItemPath batcher = paths.Batcher(new BatchingOptions { MaxBatchSize = size, MaxDelay = TimeSpan.FromMilliseconds(delayMs) });
                var rates = new List<double>();
                var ratios = new List<double>();
                var latencies = new List<double>();
                for (int round = 0; round < Rounds; round++)
                {
                    double threads = TwoThreads(paths.Run);
                    double batched = (await ClosedLoop(batcher.RunItemAsync, most, latencies)).Rate;
                    rates.Add(batched);
                    ratios.Add(batched / threads);
                }

                double batchRun = Enumerable.Range(0, 3).Select(_ => PerCall(() => paths.RunBatchOf(size)())).OrderBy(v => v).ElementAt(1);
                Console.WriteLine($"| {size} | {delayMs:0} ms | {Median(rates):0} | {Median(ratios):0.00}x | {Percentile(latencies, 0.5) * 1e3:0.00} / {Percentile(latencies, 0.99) * 1e3:0.00} ms | " +
                                  $"{delayMs + 2 * batchRun * 1e3:0.00} ms |");
            }
        }

        /// <summary>Items per second of synchronous Run from 2 threads for one slice.</summary>
        private static double TwoThreads(Func<double> run)
        {
            long count = 0;
            var watch = Stopwatch.StartNew();
            var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                long mine = 0;
                while (watch.Elapsed < Slice)
                {
                    run();
                    mine++;
                }

                Interlocked.Add(ref count, mine);
            })).ToArray();
            foreach (Thread t in threads)
            {
                t.Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }

            return count / watch.Elapsed.TotalSeconds;
        }

        /// <summary>C callers, each awaiting one item at a time for one slice: items per second, and each call's latency if asked.</summary>
        private static async Task<(double Rate, long Items)> ClosedLoop(Func<Task<double>> item, int callers, List<double>? latencies)
        {
            long count = 0;
            var watch = Stopwatch.StartNew();
            var perCaller = new List<double>[callers];
            Task[] tasks = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
            {
                var mine = new List<double>(4096);
                perCaller[c] = mine;
                while (watch.Elapsed < Slice)
                {
                    long start = Stopwatch.GetTimestamp();
                    await item().ConfigureAwait(false);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            })).ToArray();
            await Task.WhenAll(tasks);
            double seconds = watch.Elapsed.TotalSeconds;
            foreach (List<double> mine in perCaller)
            {
                count += mine.Count;
                latencies?.AddRange(mine);
            }

            return (count / seconds, count);
        }

        private static double PerCall(Action call)
        {
            int n = 0;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < Slice / 2)
            {
                call();
                n++;
            }

            return watch.Elapsed.TotalSeconds / n;
        }

        private static async Task<double> PerCallAsync(Func<Task<double>> call)
        {
            int n = 0;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < Slice / 2)
            {
                await call().ConfigureAwait(false);
                n++;
            }

            return watch.Elapsed.TotalSeconds / n;
        }

        private static async Task<long> BytesPerCallAsync(Func<Task<double>> call)
        {
            const int Calls = 2000;
            for (int i = 0; i < 100; i++)
            {
                await call().ConfigureAwait(false);
            }

            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Calls; i++)
            {
                await call().ConfigureAwait(false);
            }

            return (GC.GetTotalAllocatedBytes(precise: true) - before) / Calls;
        }

        private static double Median(List<double> values) => Percentile(values, 0.5);

        private static double Percentile(List<double> values, double p)
        {
            List<double> sorted = values.OrderBy(v => v).ToList();
            return sorted.Count == 0 ? double.NaN : sorted[(int)Math.Round(p * (sorted.Count - 1))];
        }
    }
}
