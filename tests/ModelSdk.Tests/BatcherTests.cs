using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Dynamic batching: many concurrent single-item calls, one batched run; results as if each ran alone.</summary>
    public class BatcherTests
    {
        private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
        private static readonly TimeSpan Forever = TimeSpan.FromSeconds(30);

        private static float[] Random(int seed, int count, float scale = 1)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        }

        /// <summary>Runs every item through the batcher at once (all queued before the first batch can end) and checks each against its run alone, bit for bit.</summary>
        private static void AssertBatchedEqualsAlone<TItem>(IReadOnlyList<TItem> items, Func<TItem, byte[][]> alone, Func<TItem, Task<byte[][]>> batched, Func<long> batchesRun)
        {
            byte[][][] expected = items.Select(alone).ToArray();
            Stress.Bounded(async () =>
            {
                byte[][][] actual = await Task.WhenAll(items.Select(batched));
                for (int i = 0; i < items.Count; i++)
                {
                    Assert.Equal(expected[i].Length, actual[i].Length);
                    for (int o = 0; o < expected[i].Length; o++)
                    {
                        Assert.True(expected[i][o].AsSpan().SequenceEqual(actual[i][o]), $"item {i}, output {o}: the batched result differs from the item run alone");
                    }
                }
            }, Limit);
            Assert.True(batchesRun() < items.Count, $"{items.Count} items ran in {batchesRun()} batches: nothing was batched");
        }

        /// <summary>The result of a task that has completed (checked).</summary>
        private static T Completed<T>(Task<T> task)
        {
            Assert.True(task.IsCompletedSuccessfully, $"the task is {task.Status}");
            return task.Result;
        }

        private static byte[] Bytes<T>(ReadOnlySpan<T> span)
            where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(span).ToArray();

        private static BatchingOptions Gathering(int max = 8) => new BatchingOptions { MaxBatchSize = max, MaxDelay = TimeSpan.FromMilliseconds(20) };

        [Fact]
        public void DynamicBatch_items_batched_give_their_results_alone_bitwise()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(Gathering());
            float[][] items = Enumerable.Range(0, 40).Select(i => Random(i, 8, 5)).ToArray();
            AssertBatchedEqualsAlone(items,
                x => { DynamicBatch.Result r = model.Run(x); return new[] { Bytes(r.Scores.Span), Bytes(r.Best.Span) }; },
                async x => { using DynamicBatch.ItemResult r = await batcher.RunAsync(x); return new[] { Bytes(r.Scores.Span), Bytes(r.Best.Span) }; },
                () => batcher.BatchesRun);
        }

        [Fact]
        public void MlpMid_items_batched_give_their_results_alone_bitwise()
        {
            using MlpMidBatch model = MlpMidBatch.Load();
            using MlpMidBatch.Batcher batcher = model.CreateBatcher(Gathering(16));
            float[][] items = Enumerable.Range(0, 48).Select(i => Random(100 + i, 256)).ToArray();
            AssertBatchedEqualsAlone(items,
                x => new[] { Bytes(model.Run(x).Logits.Span) },
                async x => { using MlpMidBatch.ItemResult r = await batcher.RunAsync(x); return new[] { Bytes(r.Logits.Span) }; },
                () => batcher.BatchesRun);
        }

        [Fact]
        public void Digits_items_batched_give_their_results_alone_bitwise()
        {
            using DigitsBatch model = DigitsBatch.Load();
            using DigitsBatch.Batcher batcher = model.CreateBatcher(Gathering());
            float[][] items = Stress.DigitSamples(TestData.ModelsDir).Select(s => s.Pixels).ToArray();
            AssertBatchedEqualsAlone(items,
                x => { DigitsBatch.Result r = model.Run(x); return new[] { Bytes(r.Label.Span), Bytes(r.Probabilities.Span) }; },
                async x => { using DigitsBatch.ItemResult r = await batcher.RunAsync(x); return new[] { Bytes(r.Label.Span), Bytes(r.Probabilities.Span) }; },
                () => batcher.BatchesRun);
        }

        [Fact]
        public void ComputeBound_items_batched_give_their_results_alone_bitwise()
        {
            using ComputeBoundBatch model = ComputeBoundBatch.Load();
            using ComputeBoundBatch.Batcher batcher = model.CreateBatcher(Gathering(4));
            float[][] items = Enumerable.Range(0, 6).Select(i => Random(200 + i, 256 * 256)).ToArray();
            AssertBatchedEqualsAlone(items,
                x => new[] { Bytes(model.Run(x).Y.Span) },
                async x => { using ComputeBoundBatch.ItemResult r = await batcher.RunAsync(x); return new[] { Bytes(r.Y.Span) }; },
                () => batcher.BatchesRun);
        }

        [Fact]
        public void Nine_inputs_are_gathered_and_batched_alike_and_match_numpy()
        {
            using ManyInputsBatch model = ManyInputsBatch.Load();
            using ManyInputsBatch.Batcher batcher = model.CreateBatcher(Gathering());
            float[][][] items = Enumerable.Range(0, 24).Select(i => Enumerable.Range(0, 9).Select(k => Random(i * 9 + k, 2)).ToArray()).ToArray();
            AssertBatchedEqualsAlone(items,
                x => new[] { Bytes(model.Run(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]).Y.Span) },
                async x => { using ManyInputsBatch.ItemResult r = await batcher.RunAsync(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]); return new[] { Bytes(r.Y.Span) }; },
                () => batcher.BatchesRun);

            float[][] inputs = Enumerable.Range(0, 9).Select(k => TestData.Input("many_inputs_batch", k).As<float>()).ToArray(); // 3 rows of 2
            float[] expected = TestData.Output("many_inputs_batch", 0).As<float>();
            Stress.Bounded(async () =>
            {
                for (int row = 0; row < 3; row++)
                {
                    ReadOnlyMemory<float>[] x = inputs.Select(v => (ReadOnlyMemory<float>)v.AsMemory(row * 2, 2)).ToArray();
                    using ManyInputsBatch.ItemResult r = await batcher.RunAsync(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]);
                    Assert.Equal(expected.AsSpan(row * 2, 2).ToArray(), r.Y.ToArray());
                }
            }, Limit);
        }

        [Fact]
        public void Digits_batched_match_numpy_and_item_shapes_drop_the_batch_dim()
        {
            using DigitsBatch model = DigitsBatch.Load();
            using DigitsBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 5, MaxDelay = Forever });
            float[] pixels = TestData.Input("digits_batch", 0).As<float>(); // 5 rows
            long[] labels = TestData.Output("digits_batch", 0).As<long>();
            float[] probabilities = TestData.Output("digits_batch", 1).As<float>();
            Stress.Bounded(async () =>
            {
                // Five items fill a batch at once: a MaxDelay of 30 s is never waited for.
                DigitsBatch.ItemResult[] results = await Task.WhenAll(Enumerable.Range(0, 5)
                    .Select(i => batcher.RunAsync(pixels.AsMemory(i * 64, 64)).AsTask()));
                for (int i = 0; i < 5; i++)
                {
                    Assert.Equal(Array.Empty<long>(), results[i].Label.Shape.ToArray());
                    Assert.Equal(new long[] { 10 }, results[i].Probabilities.Shape.ToArray());
                    Assert.Equal(labels[i], results[i].Label[0]);
                    float[] p = results[i].Probabilities.ToArray();
                    for (int c = 0; c < 10; c++)
                    {
                        Assert.Equal(probabilities[i * 10 + c], p[c], 1e-5f);
                    }
                }
            }, TimeSpan.FromSeconds(20));
            Assert.Equal(1, batcher.BatchesRun);
            Assert.Equal(5, batcher.ItemsRun);
        }

        [Fact]
        public void With_no_delay_a_lone_caller_runs_alone_and_waits_for_nothing()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 32 });
            Stress.Bounded(async () =>
            {
                for (int i = 0; i < 50; i++)
                {
                    using DynamicBatch.ItemResult r = await batcher.RunAsync(Random(i, 8));
                    Assert.Equal(4, r.Scores.Length);
                }
            }, Limit);
            Assert.Equal(50, batcher.BatchesRun);
        }

        [Fact]
        public void Items_wait_up_to_MaxDelay_for_others_then_run_as_one_batch()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(100) });
            var clock = Stopwatch.StartNew();
            Stress.Bounded(async () =>
            {
                Task<DynamicBatch.ItemResult>[] three = Enumerable.Range(0, 3).Select(i => batcher.RunAsync(Random(i, 8)).AsTask()).ToArray();
                await Task.WhenAll(three);
            }, Limit);
            Assert.True(clock.ElapsedMilliseconds >= 90, $"the batch started after {clock.ElapsedMilliseconds} ms, before MaxDelay (100 ms)");
            Assert.Equal(1, batcher.BatchesRun);
            Assert.Equal(3, batcher.ItemsRun);
        }

        [Fact]
        public void A_preferred_size_starts_at_once_and_the_rest_waits()
        {
            using DynamicBatch model = DynamicBatch.Load();
            var options = new BatchingOptions { MaxBatchSize = 8, MaxDelay = Forever, PreferredBatchSizes = { 4 } };
            DynamicBatch.Batcher batcher = model.CreateBatcher(options);
            Task<DynamicBatch.ItemResult>[] six = Enumerable.Range(0, 6).Select(i => batcher.RunAsync(Random(i, 8)).AsTask()).ToArray();
            Stress.Bounded(() => Task.WhenAll(six.Take(4)), TimeSpan.FromSeconds(20));
            Assert.Equal(1, batcher.BatchesRun);
            Assert.Equal(4, batcher.ItemsRun);
            Assert.Equal(2, batcher.QueueLength);
            batcher.Dispose(); // the two left fail, they don't hang
            foreach (Task<DynamicBatch.ItemResult> left in six.Skip(4))
            {
                Assert.IsType<ObjectDisposedException>(Assert.Throws<AggregateException>(() => left.Wait(Forever)).InnerException);
            }
        }

        [Fact]
        public void A_full_queue_rejects_with_a_clear_error()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 8, MaxDelay = Forever, MaxQueueLength = 2 });
            ValueTask<DynamicBatch.ItemResult> a = batcher.RunAsync(Random(1, 8));
            ValueTask<DynamicBatch.ItemResult> b = batcher.RunAsync(Random(2, 8));
            BatchQueueFullException full = Assert.Throws<BatchQueueFullException>(() => { _ = batcher.RunAsync(Random(3, 8)); });
            Assert.Contains("MaxQueueLength", full.Message);
            Assert.Contains("DynamicBatch", full.Message);
            Assert.Equal(2, batcher.QueueLength);
        }

        [Fact]
        public void A_full_queue_in_wait_mode_admits_the_call_when_an_item_leaves()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions
            {
                MaxBatchSize = 2, MaxDelay = TimeSpan.FromMilliseconds(200), MaxQueueLength = 1, QueueFullMode = BatchQueueFullMode.Wait,
            });
            using var waitCancel = new CancellationTokenSource();
            Task<DynamicBatch.ItemResult> first = batcher.RunAsync(Random(1, 8)).AsTask();
            Task<DynamicBatch.ItemResult> cancelled = batcher.RunAsync(Random(2, 8), waitCancel.Token).AsTask(); // waits for room
            Task<DynamicBatch.ItemResult> second = batcher.RunAsync(Random(3, 8)).AsTask();                      // waits for room too
            Assert.False(cancelled.IsCompleted);
            waitCancel.Cancel();
            Assert.True(Assert.Throws<AggregateException>(() => cancelled.Wait(Forever)).InnerException is OperationCanceledException);
            Assert.False(second.IsCompleted);

            // 'first' runs alone once it has waited MaxDelay; its place goes to 'second', which runs 200 ms later.
            Stress.Bounded(() => Task.WhenAll(first, second), TimeSpan.FromSeconds(20));
            Assert.Equal(2, batcher.BatchesRun);
            Assert.Equal(model.Run(Random(3, 8)).Scores.ToArray(), Completed(second).Scores.ToArray());
        }

        [Fact]
        public void An_item_cancelled_while_it_waits_leaves_the_queue_and_the_batch_runs_without_it()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 3, MaxDelay = Forever });
            using var cancel = new CancellationTokenSource();
            float[][] x = Enumerable.Range(0, 4).Select(i => Random(i, 8)).ToArray();
            Task<DynamicBatch.ItemResult> a = batcher.RunAsync(x[0]).AsTask();
            Task<DynamicBatch.ItemResult> b = batcher.RunAsync(x[1], cancel.Token).AsTask();
            cancel.Cancel();
            Assert.True(Stress.WaitFor(() => b.IsCanceled, TimeSpan.FromSeconds(10)), $"the cancelled item is {b.Status}");
            Assert.Equal(1, batcher.QueueLength);
            Task<DynamicBatch.ItemResult> c = batcher.RunAsync(x[2]).AsTask();
            Assert.Equal(2, batcher.QueueLength); // b's place is free: no batch of 3 yet
            Assert.Equal(0, batcher.BatchesRun);
            Task<DynamicBatch.ItemResult> d = batcher.RunAsync(x[3]).AsTask(); // the third item of the batch
            Stress.Bounded(() => Task.WhenAll(a, c, d), TimeSpan.FromSeconds(20));
            Assert.Equal(1, batcher.BatchesRun);
            Assert.Equal(3, batcher.ItemsRun);
            foreach ((Task<DynamicBatch.ItemResult> task, float[] input) in new[] { (a, x[0]), (c, x[2]), (d, x[3]) })
            {
                Assert.Equal(model.Run(input).Scores.ToArray(), Completed(task).Scores.ToArray());
            }
        }

        [Fact]
        public void An_item_cancelled_after_its_batch_started_ends_at_once_and_the_others_get_their_results()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 2, MaxDelay = Forever });
            using var taken = new ManualResetEventSlim();
            using var proceed = new ManualResetEventSlim();
            batcher.BatchTakenForTests = _ => { taken.Set(); proceed.Wait(Forever); };
            using var cancel = new CancellationTokenSource();
            Task<DynamicBatch.ItemResult> kept = batcher.RunAsync(Random(1, 8)).AsTask();
            Task<DynamicBatch.ItemResult> dropped = batcher.RunAsync(Random(2, 8), cancel.Token).AsTask();
            Assert.True(taken.Wait(Forever), "the batch did not start");
            cancel.Cancel();
            Assert.True(Stress.WaitFor(() => dropped.IsCanceled, TimeSpan.FromSeconds(10)), "the cancelled item did not end while its batch was held");
            Assert.False(kept.IsCompleted);
            proceed.Set();
            Stress.Bounded(() => kept, TimeSpan.FromSeconds(20));
            Assert.Equal(4, Completed(kept).Scores.Length);
        }

        [Fact]
        public void Bad_items_get_clear_errors_before_anything_is_queued()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher();
            ArgumentException wrong = Assert.Throws<ArgumentException>(() => { _ = batcher.RunAsync(new float[7]); });
            Assert.Contains("'features'", wrong.Message);
            Assert.Contains("8 elements per item", wrong.Message);
            Assert.Contains("[batch, 8]", wrong.Message);
            ArgumentException two = Assert.Throws<ArgumentException>(() => { _ = batcher.RunAsync(new float[16]); });
            Assert.Contains("received 16", two.Message);
            Assert.Equal(0, batcher.QueueLength);
            Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateBatcher(new BatchingOptions { MaxBatchSize = 0 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateBatcher(new BatchingOptions { MaxBatchSize = 4, PreferredBatchSizes = { 8 } }));
            Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateBatcher(new BatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(-1) }));
        }

        [Fact]
        public void A_subset_of_outputs_is_all_a_batch_produces()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(outputs: DynamicBatch.Outputs.Best);
            Stress.Bounded(async () =>
            {
                using DynamicBatch.ItemResult r = await batcher.RunAsync(Random(3, 8));
                Assert.Equal(model.Run(Random(3, 8)).Best[0], r.Best[0]);
                Assert.Throws<InvalidOperationException>(() => r.Scores.Length);
            }, Limit);
        }

        [Fact]
        public void Models_that_cannot_be_batched_are_refused_when_the_batcher_is_made()
        {
            var mixed = new ModelSignature("Mixed",
                new[] { new TensorInfo("x", OnnxElementType.Float, new[] { Dim.Symbolic("batch"), Dim.Fixed(4) }) },
                new[] { new TensorInfo("total", OnnxElementType.Float, new[] { Dim.Fixed(1) }) });
            NotSupportedException error = Assert.Throws<NotSupportedException>(() => BatchLayout.Create(mixed, "batch", 0));
            Assert.Contains("output 'total'", error.Message);
            Assert.Contains("[1]", error.Message);

            var ragged = new ModelSignature("Ragged",
                new[] { new TensorInfo("x", OnnxElementType.Float, new[] { Dim.Symbolic("batch"), Dim.Symbolic("n") }) },
                new[] { new TensorInfo("y", OnnxElementType.Float, new[] { Dim.Symbolic("batch") }) });
            Assert.Contains("not fixed", Assert.Throws<NotSupportedException>(() => BatchLayout.Create(ragged, "batch", 0)).Message);
            Assert.Contains("'x'", Assert.Throws<NotSupportedException>(() => BatchLayout.Create(ragged, "rows", 0)).Message);
        }

        [Fact]
        public void Dispose_under_load_from_another_thread_ends_every_call_and_hangs_nothing()
        {
            using DigitsBatch model = DigitsBatch.Load();
            DigitsBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 16, MaxDelay = TimeSpan.FromMilliseconds(1) });
            float[] pixels = Stress.DigitSamples(TestData.ModelsDir)[0].Pixels;
            int ok = 0, refused = 0;
            Stress.Bounded(async () =>
            {
                using var stop = new CancellationTokenSource();
                Task[] callers = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
                {
                    while (true)
                    {
                        try
                        {
                            DigitsBatch.ItemResult r = await batcher.RunAsync(pixels); // dropped without Dispose
                            Assert.Equal(10, r.Probabilities.Length);
                            Interlocked.Increment(ref ok);
                        }
                        catch (ObjectDisposedException)
                        {
                            Interlocked.Increment(ref refused);
                            return;
                        }
                    }
                })).ToArray();
                await Task.Delay(300);
                await Task.Run(() => batcher.Dispose());
                await Task.WhenAll(callers);
                await batcher.DisposeAsync();
            }, Limit);
            Assert.True(ok > 64, $"only {ok} items ran before Dispose");
            Assert.Equal(64, refused);
            Assert.Equal(0, batcher.BatchesInFlight);
        }

        [Fact]
        public void Cancellations_racing_a_Dispose_end_every_call_once_and_leave_the_counts_whole()
        {
            using DynamicBatch model = DynamicBatch.Load();
            for (int round = 0; round < 20; round++)
            {
                var batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 64, MaxDelay = TimeSpan.FromMilliseconds(round % 2 == 0 ? 0 : 5), Jobs = 1 });
                var tokens = Enumerable.Range(0, 50).Select(_ => new CancellationTokenSource()).ToArray();
                Task<DynamicBatch.ItemResult>[] calls = tokens.Select((t, i) => batcher.RunAsync(Random(i, 8), t.Token).AsTask()).ToArray();
                Stress.Bounded(() =>
                {
                    Parallel.Invoke(
                        () => { foreach (CancellationTokenSource t in tokens.Where((_, i) => i % 2 == 0)) { t.Cancel(); } },
                        () => batcher.Dispose());
                }, TimeSpan.FromSeconds(20));
                Stress.Bounded(async () =>
                {
                    foreach (Task<DynamicBatch.ItemResult> call in calls)
                    {
                        try
                        {
                            using DynamicBatch.ItemResult r = await call;
                            Assert.Equal(4, r.Scores.Length);
                        }
                        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                        {
                        }
                    }
                }, TimeSpan.FromSeconds(20));
                Assert.Equal(0, batcher.QueueLength);
                foreach (CancellationTokenSource t in tokens)
                {
                    t.Dispose();
                }
            }
        }

        [Fact]
        public void Disposing_the_model_under_a_batcher_fails_its_items_cleanly()
        {
            DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 4, MaxDelay = Forever });
            Task<DynamicBatch.ItemResult> waiting = batcher.RunAsync(Random(1, 8)).AsTask();
            model.Dispose();
            Task<DynamicBatch.ItemResult>[] filled = Enumerable.Range(0, 3).Select(i => batcher.RunAsync(Random(i, 8)).AsTask()).ToArray();
            foreach (Task<DynamicBatch.ItemResult> task in filled.Prepend(waiting))
            {
                Assert.IsType<ObjectDisposedException>(Assert.Throws<AggregateException>(() => task.Wait(Forever)).InnerException);
            }
        }

        [Fact]
        public void A_continuation_may_block_on_another_item_without_deadlock()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { Jobs = 1 });
            Stress.Bounded(async () =>
            {
                using DynamicBatch.ItemResult first = await batcher.RunAsync(Random(1, 8)).ConfigureAwait(false);
                using DynamicBatch.ItemResult second = batcher.RunAsync(Random(2, 8)).AsTask().GetAwaiter().GetResult(); // sync over async, on purpose
                Assert.Equal(model.Run(Random(2, 8)).Scores.ToArray(), second.Scores.ToArray());
            }, Limit);
        }

        [Fact]
        public void Many_dropped_results_hold_no_requests_and_a_bounded_amount_of_memory()
        {
            using MlpMidBatch model = MlpMidBatch.Load();
            using MlpMidBatch.Batcher batcher = model.CreateBatcher(new BatchingOptions { MaxBatchSize = 32 });
            float[] x = Random(7, 256);
            Stress.Bounded(async () =>
            {
                for (int round = 0; round < 200; round++)
                {
                    await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => batcher.RunAsync(x).AsTask()));
                }
            }, TimeSpan.FromSeconds(120));
            Assert.Equal(10_000, batcher.ItemsRun);
            Assert.True(batcher.BatchesRun < 10_000);
            Assert.True(model.RequestsHeld <= Math.Max(4, Environment.ProcessorCount * 2), $"{model.RequestsHeld} requests held");
        }
    }
}
