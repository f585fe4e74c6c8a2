using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace ModelSdk.Tests
{
    /// <summary>
    /// The lifetimes issue, point by point. Each test was first written against the old runtime (where it failed,
    /// hung or crashed the process) and is kept as the regression test of its defect.
    /// </summary>
    [Collection("Lifetimes")]
    public class LifetimeTests
    {
        private readonly ITestOutputHelper _output;

        public LifetimeTests(ITestOutputHelper output) => _output = output;

        // ------------------------------------------------------------------ 1. no span over memory that can be freed

        [Fact]
        public void A_span_of_an_output_onnx_runtime_allocated_still_reads_its_data_after_the_model_is_disposed()
        {
            // Old runtime: AccessViolationException, the test process died.
            Lifetime.Bounded(Body);

            static void Body()
            {
                NonZero model = NonZero.Load();
                ReadOnlySpan<long> kept = model.Run(new float[] { 0, 1.5f, 0, -2, 3 }).Indices.Span;
                model.Dispose();
                Lifetime.FullGc(); // the span keeps its managed buffer alive through collections
                Assert.Equal(new long[] { 1, 3, 4 }, kept.ToArray());
            }
        }

        [Fact]
        public void A_span_of_a_large_dynamic_output_survives_dispose_and_collection()
        {
            Lifetime.Bounded(Body);

            static void Body()
            {
                float[] values = Enumerable.Repeat(1f, 1 << 20).ToArray(); // indices: [1, 1M] int64, 8 MB
                NonZero model = NonZero.Load();
                ReadOnlySpan<long> kept = model.Run(values).Indices.Span;
                model.Dispose();
                Lifetime.FullGc();
                long sum = 0;
                foreach (long v in kept)
                {
                    sum += v;
                }

                Assert.Equal((long)(1 << 20) * ((1 << 20) - 1) / 2, sum);
            }
        }

        [Fact]
        public void A_view_read_after_the_next_run_throws_and_a_raw_span_kept_past_it_is_the_documented_hazard()
        {
            Lifetime.Bounded(Body);

            static void Body()
            {
                IReadOnlyList<(long Label, float[] Pixels)> samples = Lifetime.DigitSamples();
                using Digits model = Digits.Load();
                float[] a = samples[0].Pixels;
                float[] b = samples.First(s => s.Label != samples[0].Label).Pixels;
                float[] expectedB = model.Run(b).Probabilities.ToArray();

                Digits.Result first = model.Run(a);
                OutputSpan<float> view = first.Probabilities;
                ReadOnlySpan<float> raw = view.Span;
                model.Run(b);
                Assert.False(view.IsValid);
                InvalidOperationException? stale = null;
                try
                {
                    _ = view[0];
                }
                catch (InvalidOperationException e)
                {
                    stale = e;
                }

                Assert.NotNull(stale);
                Assert.Contains("ran again", stale.Message);

                // The raw span is the one unchecked access: it reads the request's buffer, which holds the later run now.
                Assert.Equal(expectedB, raw.ToArray());
            }
        }

        [Fact]
        public void A_raw_span_of_a_dynamic_output_kept_past_the_next_run_reads_live_memory_not_released_memory()
        {
            Lifetime.Bounded(Body);

            static void Body()
            {
                using NonZero model = NonZero.Load();
                ReadOnlySpan<long> kept = model.Run(new float[] { 0, 1.5f, 0, -2, 3 }).Indices.Span;
                model.Run(new float[] { 7, 0, 0, 0, 0, 0, 0, 0, 0, 9 }); // [0, 9]
                long[] seen = kept.ToArray();

                // Old runtime: [0, 9, 4] out of memory ONNX Runtime had released. Now the request's own buffer,
                // holding the later run (the documented hazard of raw spans), with no use of released memory.
                Assert.Equal(new long[] { 0, 9, 4 }, seen);
            }
        }

        // ------------------------------------------------------------------ 2. memory follows concurrency, not history

        [Fact]
        public void Short_lived_threads_calling_Run_do_not_each_leave_a_request_behind()
        {
            // Old runtime: 40 threads left 41 requests and grew the working set 131 -> 773 MB.
            Lifetime.Bounded(() =>
            {
                using TwoOutputs model = TwoOutputs.Load();
                float[] x = Lifetime.Iota16;
                Assert.Equal(136f, model.Run(x).Small[0]); // steady state: this thread's request, with its 16 MB output
                Lifetime.FullGc();
                long steadyMb = Lifetime.WorkingSetMb();
                long steadyHeapMb = Lifetime.ManagedMb();

                for (int i = 0; i < 40; i++)
                {
                    var thread = new Thread(() => model.Run(x)); // one run, then the thread ends
                    thread.Start();
                    thread.Join();
                }

                Lifetime.FullGc();
                int held = model.RequestsHeld;
                long afterMb = Lifetime.WorkingSetMb();
                long afterHeapMb = Lifetime.ManagedMb();
                string figures = $"40 short-lived threads: {held} requests held (bound {Lifetime.RequestBound(1)}); after a full GC " +
                                 $"working set {steadyMb} -> {afterMb} MB, GC heap {steadyHeapMb} -> {afterHeapMb} MB";
                _output.WriteLine(figures);
                Assert.True(held <= 2, figures); // this thread's, and the one the short-lived threads passed on
                Assert.True(afterMb <= 2 * steadyMb && afterHeapMb <= 2 * steadyHeapMb + 8, figures);
            }, TimeSpan.FromSeconds(60));
        }

        [Fact]
        public void Dropped_RunAsync_results_on_a_16MB_model_hold_no_request_and_are_collected()
        {
            // Old runtime: 300 dropped results left 139 requests and 2,350 MB after a full GC.
            Lifetime.Bounded(async () =>
            {
                using TwoOutputs model = TwoOutputs.Load();
                float[] x = Lifetime.Iota16;
                using (TwoOutputs.OwnedResult first = await model.RunAsync(x))
                {
                    Assert.Equal(136f, first.Small[0]);
                }

                Lifetime.FullGc();
                long steadyMb = Lifetime.WorkingSetMb();
                long steadyHeapMb = Lifetime.ManagedMb();
                for (int i = 0; i < 300; i++)
                {
                    await DropAsync(model, x);
                }

                int heldAtOnce = model.RequestsHeld;
                Lifetime.FullGc();
                long afterMb = Lifetime.WorkingSetMb();
                long afterHeapMb = Lifetime.ManagedMb();
                string figures = $"300 dropped RunAsync results: {heldAtOnce} requests held (bound {Lifetime.RequestBound(1)}); after a full GC " +
                                 $"working set {steadyMb} -> {afterMb} MB, GC heap {steadyHeapMb} -> {afterHeapMb} MB";
                _output.WriteLine(figures);
                Assert.True(heldAtOnce <= Lifetime.RequestBound(1), figures);
                Assert.True(afterMb <= 2 * steadyMb && afterHeapMb <= 2 * steadyHeapMb + 8, figures);
            }, TimeSpan.FromSeconds(60));
        }

        [Fact]
        public void Twenty_thousand_dropped_RunAsync_results_keep_the_request_count_at_one()
        {
            // Old runtime: 20,000 requests (11,636 in the run).
            Lifetime.Bounded(async () =>
            {
                using Digits model = Digits.Load();
                float[] pixels = Lifetime.DigitSamples()[0].Pixels;
                for (int i = 0; i < 20_000; i++)
                {
                    await DropAsync(model, pixels);
                }

                _output.WriteLine($"20,000 dropped RunAsync results, one at a time: {model.RequestsHeld} requests held");
                Assert.Equal(1, model.RequestsHeld); // the request goes back when the run ends, not when the result is collected
            }, TimeSpan.FromSeconds(60));
        }

        [Fact]
        public void Soak_ten_thousand_short_lived_threads_and_ten_thousand_dropped_results_on_two_outputs()
        {
            // Every thread and result is one request's worth of work; one in fifty produces the 16 MB output (the
            // others ask for the small output only, which runs a pruned copy of the model), so that the soak takes
            // seconds while the 16 MB buffers still come and go hundreds of times.
            Lifetime.Bounded(async () =>
            {
                using TwoOutputs model = TwoOutputs.Load();
                float[] x = Lifetime.Iota16;
                model.Run(x);
                model.Run(x, TwoOutputs.Outputs.Small);
                (await model.RunAsync(x)).Dispose();
                (await model.RunAsync(x, TwoOutputs.Outputs.Small)).Dispose();
                Lifetime.FullGc();
                long steadyMb = Lifetime.WorkingSetMb();
                int maxHeld = 0;

                var clock = Stopwatch.StartNew();
                for (int i = 0; i < 10_000; i++)
                {
                    TwoOutputs.Outputs outputs = i % 50 == 0 ? TwoOutputs.Outputs.All : TwoOutputs.Outputs.Small;
                    var thread = new Thread(() => model.Run(x, outputs));
                    thread.Start();
                    thread.Join();
                    maxHeld = Math.Max(maxHeld, model.RequestsHeld);
                }

                TimeSpan threads = clock.Elapsed;
                for (int i = 0; i < 10_000; i++)
                {
                    await DropAsync(model, x, i % 50 == 0 ? TwoOutputs.Outputs.All : TwoOutputs.Outputs.Small);
                    maxHeld = Math.Max(maxHeld, model.RequestsHeld);
                }

                Lifetime.FullGc();
                long afterMb = Lifetime.WorkingSetMb();
                string figures = $"10,000 threads ({threads.TotalSeconds:F1} s) and 10,000 dropped results ({(clock.Elapsed - threads).TotalSeconds:F1} s): " +
                                 $"at most {maxHeld} requests held; working set {steadyMb} -> {afterMb} MB after a GC";
                _output.WriteLine(figures);
                Assert.True(maxHeld <= Lifetime.RequestBound(1), figures);
                Assert.True(afterMb <= 2 * steadyMb, figures);
            }, TimeSpan.FromSeconds(120));
        }

        [Fact]
        public async Task Idle_requests_are_trimmed_back_to_none_when_unused()
        {
            using Digits model = Digits.Load(new ModelOptions { MaxIdleRequests = 2, IdleRequestTimeout = TimeSpan.FromMilliseconds(300) });
            float[] pixels = Lifetime.DigitSamples()[0].Pixels;
            OwnedRunResultsHeld held = new OwnedRunResultsHeld();
            for (int i = 0; i < 8; i++)
            {
                held.Add(model.RunAsync(pixels)); // eight in flight at once: eight requests
            }

            await held.DisposeAllAsync();
            Assert.InRange(model.RequestsHeld, 1, 8);
            var clock = Stopwatch.StartNew();
            while (model.RequestsHeld > 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }

            Assert.Equal(0, model.RequestsHeld);

            // A new run after trimming just creates a request again.
            using Digits.OwnedResult again = await model.RunAsync(pixels);
            Assert.Equal(1, model.RequestsHeld);
        }

        [Fact]
        public void A_synchronous_result_stays_readable_after_its_idle_request_is_retired()
        {
            // Views hold the data (managed memory), not the request: retiring an unused request never breaks them.
            using Digits model = Digits.Load(new ModelOptions { IdleRequestTimeout = TimeSpan.Zero });
            float[] pixels = Lifetime.DigitSamples()[0].Pixels;
            Digits.Result r = model.Run(pixels);
            long label = r.Label[0];
            float[] probabilities = r.Probabilities.ToArray();
            Assert.True(SpinWait.SpinUntil(() => model.RequestsHeld == 0, TimeSpan.FromSeconds(10)), $"{model.RequestsHeld} requests held");
            Assert.Equal(label, r.Label[0]);
            Assert.Equal(probabilities, r.Probabilities.ToArray());
            Assert.Equal(label, model.Run(pixels).Label[0]); // the next run parks a new request
        }

        [Fact]
        public void A_request_of_your_own_dropped_without_Dispose_is_released_by_the_GC()
        {
            using Digits model = Digits.Load();
            CreateAndDrop(model);
            Assert.Equal(3, model.RequestsHeld);
            for (int i = 0; i < 10 && model.RequestsHeld > 0; i++)
            {
                Lifetime.FullGc();
            }

            Assert.Equal(0, model.RequestsHeld);

            [MethodImpl(MethodImplOptions.NoInlining)]
            static void CreateAndDrop(Digits model)
            {
                for (int i = 0; i < 3; i++)
                {
                    Digits.Request dropped = model.CreateRequest();
                    Assert.True(dropped.Infer(Lifetime.DigitSamples()[0].Pixels).Label[0] >= 0);
                }
            }
        }

        private sealed class OwnedRunResultsHeld
        {
            private readonly List<ValueTask<Digits.OwnedResult>> _runs = new List<ValueTask<Digits.OwnedResult>>();

            public void Add(ValueTask<Digits.OwnedResult> run) => _runs.Add(run);

            public async Task DisposeAllAsync()
            {
                foreach (ValueTask<Digits.OwnedResult> run in _runs)
                {
                    (await run).Dispose();
                }
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static async Task DropAsync(TwoOutputs model, float[] x, TwoOutputs.Outputs outputs = TwoOutputs.Outputs.All) =>
            await model.RunAsync(x, outputs); // the result is dropped undisposed

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static async Task DropAsync(Digits model, float[] x) => await model.RunAsync(x);

        // ------------------------------------------------------------------ 3. disposing any result twice is harmless

        [Fact]
        public void Disposing_a_result_twice_does_not_touch_another_live_result()
        {
            // Old runtime: the copy's second Dispose handed back the request a live result held ("ran again").
            Lifetime.Bounded(async () =>
            {
                IReadOnlyList<(long Label, float[] Pixels)> samples = Lifetime.DigitSamples();
                float[] a = samples[0].Pixels;
                float[] b = samples.First(s => s.Label != samples[0].Label).Pixels;
                using Digits model = Digits.Load();

                Digits.OwnedResult r = await model.RunAsync(a);
                Digits.OwnedResult copy = r;
                r.Dispose();
                Digits.OwnedResult r2 = await model.RunAsync(a);
                long label2 = r2.Label[0];
                copy.Dispose();
                using Digits.OwnedResult r3 = await model.RunAsync(b);
                Assert.Equal(label2, r2.Label[0]);
                Assert.NotEqual(label2, r3.Label[0]);
                r2.Dispose();
                r2.Dispose();
                Assert.Throws<ObjectDisposedException>(() => r2.Label);
            });
        }

        [Fact]
        public void Disposing_a_result_twice_does_not_make_the_next_RunAsync_throw_REQUEST_BUSY()
        {
            // Old runtime: the next RunAsync threw REQUEST_BUSY.
            Lifetime.Bounded(async () =>
            {
                using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
                float[] x = TestData.Input("compute_bound", 0).As<float>();
                ComputeBound.OwnedResult r = await model.RunAsync(x);
                ComputeBound.OwnedResult copy = r;
                r.Dispose();
                ValueTask<ComputeBound.OwnedResult> running = model.RunAsync(x);
                copy.Dispose();
                using (ComputeBound.OwnedResult r3 = await model.RunAsync(x))
                {
                    Assert.Equal(TestData.Output("compute_bound", 0).As<float>()[3], r3.Y[3], 3);
                }

                using ComputeBound.OwnedResult r2 = await running;
                Assert.Equal(TestData.Output("compute_bound", 0).As<float>()[3], r2.Y[3], 3);
            });
        }

        [Fact]
        public async Task An_owned_result_outlives_its_model_and_its_views_throw_once_it_is_disposed()
        {
            float[] pixels = Lifetime.DigitSamples()[0].Pixels;
            Digits model = Digits.Load();
            long expected = model.Run(pixels).Label[0];
            Digits.OwnedResult owned = await model.RunAsync(pixels);
            OutputTensor<float> probabilities = owned.Probabilities;
            await model.DisposeAsync();
            Assert.Equal(expected, owned.Label[0]); // owned: no request, no session behind it
            owned.Dispose();
            Assert.False(probabilities.IsValid);
            var stale = Assert.Throws<InvalidOperationException>(() => probabilities.ToArray());
            Assert.Contains("result was disposed", stale.Message);
        }

        // ------------------------------------------------------------------ torn reads

        [Fact]
        public void Reading_a_requests_result_while_it_runs_again_throws_instead_of_mixing_two_runs()
        {
            // Old runtime: hundreds of reads in 3 s returned a mix of the previous and the new run.
            Lifetime.Bounded(async () =>
            {
                using TwoOutputs model = TwoOutputs.Load();
                using TwoOutputs.Request request = model.CreateRequest();
                float[][] inputs = Enumerable.Range(1, 4).Select(k => Enumerable.Repeat((float)k, 16).ToArray()).ToArray();
                await request.StartAsync(inputs[0]);

                using var stop = new CancellationTokenSource();
                int runs = 0;
                Task writer = Task.Run(async () =>
                {
                    for (int i = 1; !stop.IsCancellationRequested; i++)
                    {
                        await request.StartAsync(inputs[i % inputs.Length]);
                        runs++;
                        if (i % 8 == 0)
                        {
                            await Task.Delay(1); // now and then a completed result to read whole, whatever the load
                        }
                    }
                });

                int reads = 0, threw = 0, tornLarge = 0, mismatched = 0;
                var buffer = new float[1024 * 4096];
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(3) || ((reads < 20 || threw < 20) && clock.Elapsed < TimeSpan.FromSeconds(15)))
                {
                    (bool ok, float small) = ReadOnce(request, buffer);
                    if (!ok)
                    {
                        threw++;
                        continue;
                    }

                    reads++;
                    float first = buffer[0];
                    tornLarge += buffer.AsSpan().IndexOfAnyExcept(first) >= 0 ? 1 : 0;
                    mismatched += small != 16 * first ? 1 : 0;
                }

                stop.Cancel();
                await writer;
                string figures = $"{reads} consistent reads, {threw} refused, during {runs} runs: {tornLarge} copies mixed two runs, {mismatched} paired two runs";
                _output.WriteLine(figures);
                Assert.True(reads > 0 && threw > 0, figures);
                Assert.True(tornLarge == 0 && mismatched == 0, figures);
            }, TimeSpan.FromSeconds(30));

            static (bool Ok, float Small) ReadOnce(TwoOutputs.Request request, float[] buffer)
            {
                try
                {
                    TwoOutputs.Result result = request.Result;
                    float small = result.Small[0];
                    result.Large.CopyTo(buffer);
                    return (true, small);
                }
                catch (InvalidOperationException)
                {
                    return (false, 0); // "running" or "ran again": the right answer to a read during a run
                }
            }
        }

        // ------------------------------------------------------------------ 4. output subsets run exactly the loaded model

        [Fact]
        public void A_subset_of_outputs_runs_the_loaded_model_not_the_file_now_on_disk()
        {
            // Old runtime: Run(x, Outputs.Small) returned the replacement file's answer (16) while full runs returned 136.
            string dir = Path.Combine(Path.GetTempPath(), "modelsdk-lifetime-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "model.onnx");
            try
            {
                File.Copy(TestData.Model("two_outputs"), path);
                using TwoOutputs model = TwoOutputs.Load(path);
                float[] x = Lifetime.Iota16;
                Assert.Equal(136f, model.Run(x).Small[0]);

                File.Copy(TestData.Model("two_outputs_variant"), path, overwrite: true); // small = max = 16, large = 2x
                Assert.Equal(136f, model.Run(x, TwoOutputs.Outputs.Small).Small[0]);
                Assert.Equal(16f, model.Run(x, TwoOutputs.Outputs.Large).Large[15]);
                Assert.Equal(136f, model.Run(x).Small[0]);

                // The same for a model loaded from bytes the caller then reuses.
                byte[] bytes = File.ReadAllBytes(TestData.Model("two_outputs"));
                using TwoOutputs fromBytes = TwoOutputs.Load(bytes);
                File.ReadAllBytes(TestData.Model("two_outputs_variant")).AsSpan(0, Math.Min(bytes.Length, 64)).CopyTo(bytes);
                Assert.Equal(136f, fromBytes.Run(x, TwoOutputs.Outputs.Small).Small[0]);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        [Fact]
        public void An_unchanged_file_still_gets_a_pruned_session()
        {
            using TwoOutputs model = TwoOutputs.Load(TestData.Model("two_outputs"));
            using TwoOutputs.Request request = model.CreateRequest();
            request.SelectOutputs(TwoOutputs.Outputs.Small);
            Assert.Equal(136f, request.Infer(Lifetime.Iota16).Small[0]);
            Assert.True(request.Untyped.RunsPrunedModel);
        }

        // ------------------------------------------------------------------ 5. Dispose from anywhere never deadlocks

        [Fact]
        public void Queue_Dispose_from_its_own_callback_returns_and_the_model_can_then_be_disposed()
        {
            // Old runtime: both hung (queue.Dispose waited for its own job; model.Dispose spun on it forever).
            Lifetime.Bounded(() =>
            {
                float[] pixels = Lifetime.DigitSamples()[0].Pixels;
                Digits model = Digits.Load();
                Digits.Queue queue = model.CreateQueue(1);
                using var callbackReturned = new ManualResetEventSlim();
                Exception? fromDispose = null;
                long label = -1;
                queue.SetCallback((request, _) =>
                {
                    try
                    {
                        label = request.Result.Label[0];
                        queue.Dispose(); // "stop after the first answer"
                    }
                    catch (Exception ex)
                    {
                        fromDispose = ex;
                    }
                    finally
                    {
                        callbackReturned.Set();
                    }
                });

                Assert.True(queue.StartAsync(pixels).AsTask().Wait(TimeSpan.FromSeconds(5)), "the job did not start");
                Assert.True(callbackReturned.Wait(TimeSpan.FromSeconds(5)), "queue.Dispose() in its callback did not return");
                Assert.Null(fromDispose);
                Assert.True(label >= 0);
                Assert.True(queue.WaitAllAsync().Wait(TimeSpan.FromSeconds(5)));
                Assert.ThrowsAny<ObjectDisposedException>(() => queue.StartAsync(pixels).AsTask().GetAwaiter().GetResult());
                var disposer = new Thread(model.Dispose) { IsBackground = true };
                disposer.Start();
                Assert.True(disposer.Join(TimeSpan.FromSeconds(5)), "model.Dispose() did not return");
            });
        }

        [Fact]
        public void Model_Dispose_from_a_queue_callback_a_request_callback_and_a_RunAsync_continuation_never_deadlocks()
        {
            Lifetime.Bounded(async () =>
            {
                float[] pixels = Lifetime.DigitSamples()[0].Pixels;

                Digits fromQueue = Digits.Load();
                Digits.Queue queue = fromQueue.CreateQueue(2);
                var disposed = new TaskCompletionSource();
                queue.SetCallback((_, _) =>
                {
                    fromQueue.Dispose();
                    disposed.TrySetResult();
                });
                await queue.StartAsync(pixels);
                await disposed.Task.WaitAsync(TimeSpan.FromSeconds(5));
                await fromQueue.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                queue.Dispose();

                Digits fromRequest = Digits.Load();
                Digits.Request request = fromRequest.CreateRequest();
                request.SetCallback(r =>
                {
                    r.Dispose();            // its own callback
                    fromRequest.Dispose(); // and its model
                });
                await request.StartAsync(pixels).WaitAsync(TimeSpan.FromSeconds(5));
                request.Wait();
                await fromRequest.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                Assert.Equal(RequestState.Disposed, request.State);

                Digits fromContinuation = Digits.Load();
                Digits.OwnedResult result = await fromContinuation.RunAsync(pixels).ConfigureAwait(false);
                fromContinuation.Dispose(); // on the thread that ran the inference
                await fromContinuation.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                Assert.True(result.Label[0] >= 0);
                Assert.Equal(0, fromContinuation.RequestsHeld);
            });
        }

        [Fact]
        public void A_run_stopped_by_a_cancel_ends_cancelled_even_when_it_ends_before_the_cancel_call_returns()
        {
            // The run sees ONNX Runtime's terminate flag at its next operator and returns at once; the thread that set
            // the flag may still be inside Cancel (preempted). Held open here: the run must still know it was cancelled.
            Lifetime.Bounded(() =>
            {
                float[] x = TestData.Input("compute_bound", 0).As<float>();
                using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
                using ComputeBound.Request request = model.CreateRequest();
                InferRequest untyped = request.Untyped;
                InferRequest.TerminateSetForTests = r =>
                {
                    if (r == untyped)
                    {
                        Thread.Sleep(100);
                    }
                };
                try
                {
                    for (int attempt = 0; attempt < 5; attempt++)
                    {
                        var run = Task.Run(() => request.Infer(x).Y[0]);
                        Assert.True(SpinWait.SpinUntil(() => request.IsRunning || run.IsCompleted, TimeSpan.FromSeconds(5)));
                        request.Cancel();
                        Exception? error = Record.Exception(() => run.GetAwaiter().GetResult());
                        Assert.True(error is null or OperationCanceledException, $"attempt {attempt}: {error}");
                    }
                }
                finally
                {
                    InferRequest.TerminateSetForTests = null;
                }
            });
        }

        [Fact]
        public void Cancel_racing_runs_ends_them_cancelled_never_with_ONNX_Runtimes_terminate_error()
        {
            // A cancel sets ONNX Runtime's terminate flag; the run it stops must see that it was cancelled, however the
            // two threads interleave (ONNX Runtime's own "Exiting due to terminate flag" error must never surface).
            Lifetime.Bounded(() =>
            {
                float[] x = TestData.Input("compute_bound", 0).As<float>();
                using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
                using ComputeBound.Request request = model.CreateRequest();
                int completed = 0, cancelled = 0;
                var wrong = new List<Exception>();
                var clock = Stopwatch.StartNew();
                var canceller = new Thread(() =>
                {
                    var random = new Random(7);
                    while (clock.Elapsed < TimeSpan.FromSeconds(2))
                    {
                        Thread.SpinWait(random.Next(1, 20_000));
                        request.Cancel();
                    }
                }) { IsBackground = true };
                canceller.Start();
                while (canceller.IsAlive)
                {
                    try
                    {
                        _ = request.Infer(x).Y[0];
                        completed++;
                    }
                    catch (OperationCanceledException)
                    {
                        cancelled++;
                    }
                    catch (Exception e)
                    {
                        wrong.Add(e);
                    }
                }

                Assert.True(wrong.Count == 0, $"{completed} completed, {cancelled} cancelled, {wrong.Count} failed otherwise: {wrong.FirstOrDefault()}");
                Assert.True(cancelled > 0, $"{completed} completed, no run was cancelled: the test did not race anything");
            }, TimeSpan.FromSeconds(20));
        }

        [Fact]
        public void Dispose_while_runs_are_in_flight_stops_them_and_they_end_with_disposed_or_cancelled()
        {
            Lifetime.Bounded(async () =>
            {
                float[] x = TestData.Input("compute_bound", 0).As<float>();
                ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
                ComputeBound.Request own = model.CreateRequest();
                Task ownRun = own.StartAsync(x);
                var runs = Enumerable.Range(0, 6).Select(_ => model.RunAsync(x).AsTask()).ToList();
                var syncRun = Task.Run(() => model.Run(x).Y[0]);
                await Task.Delay(1);
                var clock = Stopwatch.StartNew();
                model.Dispose();
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Dispose blocked for {clock.Elapsed.TotalMilliseconds} ms");

                foreach (Task run in runs.Cast<Task>().Append(ownRun).Append(syncRun))
                {
                    Exception? error = await Record.ExceptionAsync(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
                    Assert.True(error is null or ObjectDisposedException or OperationCanceledException, error?.ToString());
                    if (error is null && run is Task<ComputeBound.OwnedResult> finished)
                    {
                        finished.Result.Dispose(); // it completed before the dispose reached it: its result is whole
                    }
                }

                await model.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(0, model.RequestsHeld);
                Assert.Throws<ObjectDisposedException>(() => model.Run(x));
                Assert.Throws<ObjectDisposedException>(() => { _ = own.StartAsync(x); });
            });
        }

        [Fact]
        public void Request_Dispose_from_another_thread_during_a_synchronous_run_ends_it_with_disposed()
        {
            Lifetime.Bounded(() =>
            {
                float[] x = TestData.Input("compute_bound", 0).As<float>();
                using ComputeBound model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
                for (int attempt = 0; attempt < 20; attempt++)
                {
                    ComputeBound.Request request = model.CreateRequest();
                    using var started = new ManualResetEventSlim();
                    var running = Task.Run(() =>
                    {
                        started.Set();
                        return request.Infer(x).Y[0];
                    });
                    started.Wait();
                    request.Dispose(); // never blocks: the run stops at its next operator
                    Exception? error = Record.Exception(() => running.Wait(TimeSpan.FromSeconds(10)));
                    Exception? inner = (error as AggregateException)?.InnerException ?? error;
                    Assert.True(inner is null or ObjectDisposedException or OperationCanceledException, inner?.ToString());
                    Assert.Equal(RequestState.Disposed, request.State);
                }

                Assert.True(SpinWait.SpinUntil(() => model.RequestsHeld == 0, TimeSpan.FromSeconds(5)), $"{model.RequestsHeld} requests held");
            });
        }

        [Fact]
        public void Any_public_calls_from_many_threads_with_dispose_anywhere_never_crash_hang_or_return_wrong_data()
        {
            // Eight threads call whatever comes next at random on one model, one shared request and one queue, while
            // the model, the request and the queue are disposed at random moments. Every call either returns this
            // model's exact answer or throws one of the documented exceptions.
            Lifetime.Bounded(() =>
            {
                IReadOnlyList<(long Label, float[] Pixels)> samples = Lifetime.DigitSamples();
                long[] expected;
                using (Digits reference = Digits.Load())
                {
                    expected = samples.Select(s => reference.Run(s.Pixels).Label[0]).ToArray();
                }

                var unexpected = new System.Collections.Concurrent.ConcurrentQueue<string>();
                int answers = 0;
                for (int round = 0; round < 4; round++)
                {
                    Digits model = Digits.Load();
                    Digits.Request shared = model.CreateRequest();
                    Digits.Queue queue = model.CreateQueue(2);
                    queue.SetCallback((request, userdata) => Check(() => request.Result.Label[0], (int)userdata!));
                    var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
                    int disposeAt = 150 + (round * 120);
                    var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
                    {
                        var random = new Random((round * 31) + t);
                        while (!stop.IsCancellationRequested)
                        {
                            int i = random.Next(samples.Count);
                            float[] x = samples[i].Pixels;
                            switch (random.Next(11))
                            {
                                case 0: Check(() => model.Run(x).Label[0], i); break;
                                case 1: Check(() => { using Digits.OwnedResult r = model.RunAsync(x).AsTask().GetAwaiter().GetResult(); return r.Label[0]; }, i); break;
                                case 2: Check(() => model.RunAsync(x).AsTask().GetAwaiter().GetResult().Label[0], i); break; // dropped undisposed
                                case 3: Check(() => shared.Infer(x).Label[0], i); break;
                                case 4: Check(() => { shared.StartAsync(x).Wait(TimeSpan.FromSeconds(5)); return -1; }, i); break;
                                case 5: Check(() => shared.Result.Label[0], -1); break; // whatever ran last: a whole result or an error
                                case 6: Check(() => { shared.Cancel(); return -1; }, i); break;
                                case 7: Check(() => { queue.StartAsync(x, userdata: i).AsTask().Wait(TimeSpan.FromSeconds(5)); return -1; }, i); break;
                                case 8: Check(() => { using Digits.Request own = model.CreateRequest(); return own.Infer(x).Label[0]; }, i); break;
                                case 9: Check(() => model.Run(x).ToOwned().Label[0], i); break;
                                default: Check(() => { if (random.Next(40) == 0) { shared.Dispose(); } return -1; }, i); break;
                            }
                        }
                    }) { IsBackground = true }).ToList();
                    threads.ForEach(t => t.Start());
                    Thread.Sleep(disposeAt);
                    if (round % 2 == 0)
                    {
                        queue.Dispose();
                    }

                    model.Dispose();
                    foreach (Thread thread in threads)
                    {
                        Assert.True(thread.Join(TimeSpan.FromSeconds(20)), "a caller hung");
                    }

                    queue.Dispose();
                    Assert.True(model.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10)), "native state was not released after every run ended");
                    Assert.Equal(0, model.RequestsHeld);
                }

                Assert.True(unexpected.IsEmpty, string.Join(Environment.NewLine, unexpected.Take(10)));
                _output.WriteLine($"{answers} right answers across 4 rounds");
                Assert.True(answers > 100, $"only {answers} calls answered");

                void Check(Func<long> call, int sample)
                {
                    try
                    {
                        long label = call();
                        if (label >= 0 && sample >= 0 && label != expected[sample])
                        {
                            unexpected.Enqueue($"sample {sample}: label {label}, expected {expected[sample]}");
                        }

                        Interlocked.Increment(ref answers);
                    }
                    catch (Exception ex) when (Allowed(ex))
                    {
                    }
                    catch (Exception ex)
                    {
                        unexpected.Enqueue(ex.ToString());
                    }
                }

                static bool Allowed(Exception ex) => ex switch
                {
                    AggregateException a => a.InnerExceptions.All(Allowed),
                    ObjectDisposedException or OperationCanceledException => true,
                    InvalidOperationException i => i.Message.Contains("REQUEST_BUSY") || i.Message.Contains("is running") ||
                                                   i.Message.Contains("has no outputs") || i.Message.Contains("no longer holds"),
                    _ => false,
                };
            }, TimeSpan.FromSeconds(90));
        }

        // ------------------------------------------------------------------ 6. pass-through and duplicated outputs

        [Fact]
        public async Task A_graph_input_that_is_also_an_output_is_returned_like_raw_onnx_runtime_returns_it()
        {
            // Old runtime: x came back as [0, 0, 0, 0].
            float[] x = { 1, 2, 3, 4 };
            (float[] rawX, float[] rawY) = RawOrt("passthrough", x, "x", "y");
            Assert.Equal(x, rawX);

            using PassThrough model = PassThrough.Load();
            PassThrough.Result r = model.Run(x);
            Assert.Equal(rawX, r.X.ToArray());
            Assert.Equal(rawY, r.Y.ToArray());
            x[0] = 100; // the output is a copy: the caller's buffer is only pinned during the call
            Assert.Equal(1f, r.X[0]);
            TestData.AssertOutput(TestData.Output("passthrough", 0), model.LastRequestOutput(0));

            using PassThrough.OwnedResult owned = await model.RunAsync(new float[] { 5, 6, 7, 8 });
            Assert.Equal(new float[] { 5, 6, 7, 8 }, owned.X.ToArray());
            Assert.Equal(new float[] { 6, 7, 8, 9 }, owned.Y.ToArray());
        }

        [Fact]
        public async Task An_output_listed_twice_has_its_value_in_both_places_like_raw_onnx_runtime()
        {
            // Old runtime: Y came back as [0, 0, 0, 0].
            float[] x = { 1, 2, 3, 4 };
            (float[] raw0, float[] raw1) = RawOrt("duplicate_output", x, "y", "y");

            using DuplicateOutput model = DuplicateOutput.Load();
            DuplicateOutput.Result r = model.Run(x);
            Assert.Equal(raw0, r.Y.ToArray());
            Assert.Equal(raw1, r.Y2.ToArray());
            Assert.Equal(raw1, model.Run(x, DuplicateOutput.Outputs.Y2).Y2.ToArray()); // only the second selected
            using DuplicateOutput.OwnedResult owned = await model.RunAsync(x);
            Assert.Equal(raw0, owned.Y.ToArray());
            Assert.Equal(raw1, owned.Y2.ToArray());
        }

        private static (float[] First, float[] Second) RawOrt(string name, float[] x, string first, string second)
        {
            using var session = new InferenceSession(TestData.Model(name));
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> raw = session.Run(
                new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, new[] { 1, 4 })) }, new[] { first, second });
            return (raw.ElementAt(0).AsEnumerable<float>().ToArray(), raw.ElementAt(1).AsEnumerable<float>().ToArray());
        }
    }
}
