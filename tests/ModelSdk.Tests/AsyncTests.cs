using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Issue 4: RunAsync, typed requests, the queue, errors, cancellation.</summary>
    public class AsyncTests
    {
        private static readonly ModelOptions SingleThread = new ModelOptions { IntraOpNumThreads = 1 };

        private static float[] Features(int batch, float value = 1) => Enumerable.Repeat(value, batch * 8).ToArray();

        [Fact]
        public async Task RunAsync_frees_the_caller_and_resumes_on_the_thread_pool()
        {
            using Digits model = Digits.Load(SingleThread);
            float[] pixels = TestData.Input("digits", 0).As<float>();
            // Without a context to return to (e.g. a service), the continuation runs on the .NET thread pool.
            (bool onPool, long[] label) = await Task.Run(async () =>
            {
                using Digits.OwnedResult result = await model.RunAsync(pixels);
                return (Thread.CurrentThread.IsThreadPoolThread, result.Label.ToArray());
            });
            Assert.True(onPool);
            Assert.Equal(TestData.Output("digits", 0).As<long>(), label);
        }

        [Fact]
        public async Task Code_after_an_await_may_block_on_another_run_without_deadlock()
        {
            // The continuation of RunAsync runs on the thread that ran the inference; if it blocks on another
            // run, that run must get a thread of its own.
            using Tiny model = Tiny.Load();
            Task<float> nested = NestedAsync(model);
            Assert.True(await Task.WhenAny(nested, Task.Delay(TimeSpan.FromSeconds(30))) == nested, "deadlocked");
            Assert.Equal(3f, await nested);

            static async Task<float> NestedAsync(Tiny model)
            {
                using Tiny.OwnedResult first = await model.RunAsync(new float[] { 1, 1, 1, 1 }).ConfigureAwait(false);
                using Tiny.OwnedResult second = model.RunAsync(new float[] { 2, 2, 2, 2 }).AsTask().GetAwaiter().GetResult(); // sync over async, on purpose
                return second.Y[0];
            }
        }

        [Fact]
        public async Task RunAsync_copies_inputs_so_the_caller_can_reuse_its_buffer_at_once()
        {
            using ComputeBound model = ComputeBound.Load(SingleThread);
            float[] x = TestData.Input("compute_bound", 0).As<float>();
            float[] expected = TestData.Output("compute_bound", 0).As<float>();
            ValueTask<ComputeBound.OwnedResult> pending = model.RunAsync(x);
            Array.Clear(x); // the run already has its copy
            using ComputeBound.OwnedResult result = await pending;
            Assert.Equal(expected[0], result.Y[0], 3);
            Assert.Equal(expected[255], result.Y[255], 3);
        }

        [Fact]
        public async Task RunAsync_passes_every_element_type_including_strings_and_inputs_beyond_eight()
        {
            using AllTypes model = AllTypes.Load();
            ModelSdk.TestSupport.TestTensor In(int i) => TestData.Input("types", i);
            using AllTypes.OwnedResult r = await model.RunAsync(
                In(0).As<float>(), In(1).As<double>(), In(2).As<int>(), In(3).As<long>(), In(4).As<bool>(),
                In(5).As<byte>(), In(6).As<sbyte>(), In(7).As<short>(), In(8).As<ushort>(), In(9).As<uint>(),
                In(10).As<ulong>(), In(11).As<Half>(), In(12).As<Microsoft.ML.OnnxRuntime.BFloat16>(), In(13).Strings!);
            Assert.Equal(TestData.Output("types", 13).Strings, r.StrOut.ToArray());
            Assert.Equal(TestData.Output("types", 10).As<ulong>(), r.U64Out.ToArray());
            Assert.Equal(TestData.Output("types", 0).As<float>(), r.F32Out.ToArray());
        }

        [Fact]
        public async Task Concurrent_RunAsync_results_are_each_their_own_until_disposed()
        {
            using DynamicBatch model = DynamicBatch.Load();
            Task<long[]>[] runs = Enumerable.Range(1, 16).Select(async batch =>
            {
                using DynamicBatch.OwnedResult r = await model.RunAsync(Features(batch), batch);
                await Task.Yield();
                return r.Scores.Shape.ToArray();
            }).ToArray();
            long[][] shapes = await Task.WhenAll(runs);
            for (int batch = 1; batch <= 16; batch++)
            {
                Assert.Equal(new long[] { batch, 4 }, shapes[batch - 1]);
            }
        }

        [Fact]
        public async Task Cancellation_stops_the_run_and_the_model_stays_usable()
        {
            using ComputeBound model = ComputeBound.Load(SingleThread);
            float[] x = TestData.Input("compute_bound", 0).As<float>();
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await model.RunAsync(x, cancellationToken: cts.Token));

            // Cancel right after the start: the run (several ms) is stopped at the next operator.
            int cancelled = 0;
            for (int i = 0; i < 5 && cancelled == 0; i++)
            {
                using var during = new CancellationTokenSource();
                ValueTask<ComputeBound.OwnedResult> run = model.RunAsync(x, cancellationToken: during.Token);
                during.Cancel();
                try
                {
                    using ComputeBound.OwnedResult r = await run;
                }
                catch (OperationCanceledException ex)
                {
                    Assert.Equal(during.Token, ex.CancellationToken);
                    cancelled++;
                }
            }

            Assert.True(cancelled > 0, "a run cancelled while it runs ends as cancelled");
            using ComputeBound.OwnedResult after = await model.RunAsync(x);
            Assert.Equal(TestData.Output("compute_bound", 0).As<float>()[7], after.Y[7], 3);
        }

        [Fact]
        public async Task Typed_request_start_wait_callback_and_busy()
        {
            // The slow-run report comes at the end of the run, while the request is still running: holding it there
            // keeps the first run in progress for the REQUEST_BUSY check (a 1 ms run could end before it on a busy machine).
            using var ending = new ManualResetEventSlim();
            using ComputeBound model = ComputeBound.Load(new ModelOptions(SingleThread)
            {
                SlowRunThreshold = TimeSpan.FromTicks(1),
                OnSlowRun = (_, _) => ending.Wait(TimeSpan.FromSeconds(30)),
            });
            using ComputeBound.Request request = model.CreateRequest();
            float[] x = TestData.Input("compute_bound", 0).As<float>();
            int callbacks = 0;
            using var gate = new ManualResetEventSlim();
            request.SetCallback(r =>
            {
                gate.Wait(); // holds the run's completion open: waiters are released only after the callback
                Interlocked.Increment(ref callbacks);
            });

            Task run = request.StartAsync(x);
            var busy = Assert.Throws<InvalidOperationException>(() => { _ = request.StartAsync(x); });
            Assert.Contains("REQUEST_BUSY", busy.Message);
            ending.Set();
            Assert.False(request.Wait(TimeSpan.FromMilliseconds(20)), "Wait(timeout) says done only when the run and its callback are done");
            Assert.True(SpinWait.SpinUntil(() => request.State == RequestState.Completed, TimeSpan.FromSeconds(10)), "the inference ends before its callback runs");
            Assert.False(request.IsRunning);
            gate.Set();
            request.Wait();
            Assert.True(request.Wait(TimeSpan.Zero));
            await run;
            await request.WaitAsync();
            Assert.Equal(1, callbacks);
            Assert.False(request.IsRunning);
            Assert.Equal(TestData.Output("compute_bound", 0).As<float>()[3], request.Result.Y[3], 3);

            Task second = request.StartAsync(x);
            await second;
            Assert.True(request.Wait(TimeSpan.Zero));
            Assert.Equal(2, callbacks);
        }

        [Fact]
        public async Task A_RunAsync_result_dropped_without_Dispose_holds_no_request()
        {
            using Tiny model = Tiny.Load();
            await RunAndDropAsync(model);
            int requests = model.RequestsHeld;
            Assert.Equal(1, requests);
            Assert.Equal(1, model.RestingRequests); // the request went back as soon as the run ended

            // The next RunAsync reuses that request: the dropped result took only its output buffers.
            using Tiny.OwnedResult again = await model.RunAsync(new float[4]);
            Assert.Equal(1f, again.Y[0]);
            Assert.Equal(requests, model.RequestsHeld);

            static async Task RunAndDropAsync(Tiny model)
            {
                Tiny.OwnedResult dropped = await model.RunAsync(new float[] { 1, 2, 3, 4 });
                Assert.Equal(2f, dropped.Y[0]);
            }
        }

        [Fact]
        public async Task Queue_runs_jobs_in_parallel_with_one_callback_and_userdata()
        {
            using Digits model = Digits.Load(SingleThread);
            using Digits.Queue queue = model.CreateQueue(2);
            Assert.Equal(2, queue.Count);
            Assert.True(queue.IsReady);
            float[][] samples = System.IO.File.ReadAllLines(System.IO.Path.Combine(TestData.ModelsDir, "digits_samples.csv")).Skip(1)
                .Select(l => l.Split(',').Skip(1).Select(float.Parse).ToArray()).ToArray();
            var labels = new ConcurrentDictionary<int, long>();
            queue.SetCallback((request, userdata) => labels[(int)userdata!] = request.Result.Label[0]);
            for (int i = 0; i < samples.Length; i++)
            {
                await queue.StartAsync(samples[i], userdata: i);
            }

            await queue.WaitAllAsync();
            Assert.Equal(samples.Length, labels.Count);
            for (int i = 0; i < samples.Length; i++)
            {
                Assert.Equal(model.Run(samples[i]).Label[0], labels[i]);
            }
        }

        [Fact]
        public async Task Queue_streams_results_in_input_order()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Queue queue = model.CreateQueue(3);
            int[] batches = Enumerable.Range(1, 40).Select(i => (i * 7 % 9) + 1).ToArray();
            var shapes = new List<long>();
            await foreach (long rows in queue.RunAllAsync(batches, (request, batch) => request.SetInputs(Features(batch), batch), r => r.Result.Scores.Shape[0]))
            {
                shapes.Add(rows);
            }

            Assert.Equal(batches.Select(b => (long)b), shapes);
        }

        [Fact]
        public async Task Queue_errors_reach_WaitAll_once_and_the_queue_keeps_working()
        {
            using Digits model = Digits.Load();
            using Digits.Queue queue = model.CreateQueue(2);
            queue.SetCallback((request, userdata) =>
            {
                if ((int)userdata! == 3)
                {
                    throw new InvalidOperationException("callback failed for job 3");
                }
            });
            for (int i = 0; i < 6; i++)
            {
                await queue.StartAsync(new float[64], userdata: i);
            }

            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => queue.WaitAllAsync());
            Assert.Contains("job 3", ex.Message);
            await queue.WaitAllAsync(); // observed errors are not thrown again

            for (int i = 10; i < 14; i++)
            {
                await queue.StartAsync(new float[64], userdata: i);
            }

            await queue.WaitAllAsync();

            // Bad inputs are rejected when the job starts, and the job goes back to the queue.
            await Assert.ThrowsAsync<ArgumentException>(async () => await queue.StartAsync(new float[3], userdata: 99));
            Assert.True(queue.IsReady);
        }

        [Fact]
        public async Task Shared_async_inputs_stay_pinned_until_the_run_is_done()
        {
            using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1, AsyncInputMode = InputMode.Shared });
            float[] expected = TestData.Output("compute_bound", 0).As<float>();
            var runs = new List<Task<float>>();
            for (int i = 0; i < 4; i++)
            {
                runs.Add(StartAndRead(model));
                GC.Collect(); // the caller dropped its reference: the pin keeps the array alive and in place
                GC.WaitForPendingFinalizers();
            }

            static async Task<float> StartAndRead(ComputeBound model)
            {
                ValueTask<ComputeBound.OwnedResult> run = model.RunAsync(TestData.Input("compute_bound", 0).As<float>());
                using ComputeBound.OwnedResult r = await run;
                return r.Y[5];
            }

            foreach (float y in await Task.WhenAll(runs))
            {
                Assert.Equal(expected[5], y, 3);
            }
        }

        [Fact]
        public void Many_concurrent_RunAsync_callers_leave_no_backlog_of_idle_thread_pool_work()
        {
            // Each run queued while no thread polled used to queue one more scheduler work item; under load tens of
            // thousands piled up, and each spun 20 us on a thread-pool thread before finding nothing to do: after the
            // load, everything else queued to the pool (a batcher's jobs, ASP.NET Core's requests) waited behind them.
            using MlpMid model = MlpMid.Load(SingleThread);
            float[] x = new float[MlpMid.Inputs.X.ElementCount];
            int backlog = 0;
            Stress.Bounded(async () =>
            {
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
                {
                    while (clock.ElapsedMilliseconds < 500)
                    {
                        using MlpMid.OwnedResult r = await model.RunAsync(x).ConfigureAwait(false);
                    }
                })));
                backlog = (int)ThreadPool.PendingWorkItemCount;
            }, TimeSpan.FromSeconds(60));
            Assert.True(backlog < 500, $"{backlog} work items were still queued on the thread pool when the callers were done");
        }

        [Fact]
        public async Task Stress_thousands_of_runs_with_random_cancellation_and_a_dispose_midway()
        {
            long memoryBefore = ProcessMemory();
            for (int round = 0; round < 3; round++)
            {
                var model = DynamicBatch.Load(SingleThread);
                var queue = model.CreateQueue(4);
                var random = new Random(round);
                int completed = 0;
                queue.SetCallback((request, _) => Interlocked.Increment(ref completed));
                var tasks = new List<Task>();
                for (int i = 0; i < 1500; i++)
                {
                    int batch = random.Next(1, 32);
                    var cts = new CancellationTokenSource();
                    if (random.Next(4) == 0)
                    {
                        cts.CancelAfter(random.Next(0, 2));
                    }

                    tasks.Add(random.Next(2) == 0
                        ? StartJobAsync(queue, batch, cts.Token)
                        : RunAndReadAsync(model, batch, cts.Token));
                    if (i == 1000)
                    {
                        // Dispose while runs are in flight: they finish or are cancelled, nothing crashes.
                        var disposing = Task.Run(() =>
                        {
                            queue.Dispose();
                            model.Dispose();
                        });
                        tasks.Add(disposing);
                    }
                }

                Task all = Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
                bool finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(2))) == all;
                Assert.True(finished, $"every task completes, faults or cancels; {tasks.Count(t => !t.IsCompleted)} of {tasks.Count} did not");
                foreach (Task t in tasks)
                {
                    Assert.True(t.IsCompleted);
                    if (t.IsFaulted)
                    {
                        // Runs cut short by the dispose: refused, cancelled, or a result whose request was disposed before it was read.
                        Assert.All(t.Exception!.InnerExceptions, e => Assert.True(
                            e is ObjectDisposedException or OperationCanceledException || (e is InvalidOperationException && e.Message.Contains("disposed")), e.ToString()));
                    }
                }

                Assert.True(completed > 0);
                queue.Dispose();
                model.Dispose();
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            long growth = ProcessMemory() - memoryBefore;
            Assert.True(growth < 200L * 1024 * 1024, $"process memory grew by {growth / (1024 * 1024)} MB over 4500 runs and 3 models");

            // Async methods, so that an exception thrown when starting (e.g. model disposed) becomes the task's fault.
            static async Task StartJobAsync(DynamicBatch.Queue queue, int batch, CancellationToken token) =>
                await queue.StartAsync(Features(batch), batch, cancellationToken: token);

            static async Task RunAndReadAsync(DynamicBatch model, int batch, CancellationToken token)
            {
                using DynamicBatch.OwnedResult r = await model.RunAsync(Features(batch), batch, cancellationToken: token);
                Assert.Equal(batch, r.Best.Length);
            }
        }

        private static long ProcessMemory()
        {
            using Process self = Process.GetCurrentProcess();
            self.Refresh();
            return self.WorkingSet64;
        }
    }
}
