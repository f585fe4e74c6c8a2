using System;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace ModelSdk.Tests
{
    public class RequestTests
    {
        [Fact]
        public void Output_view_read_after_the_next_run_throws_instead_of_returning_new_data()
        {
            using Digits model = Digits.Load();
            Digits.Result first = model.Run(TestData.Input("digits", 0).As<float>());
            OutputSpan<float> probabilities = first.Probabilities;
            float[] kept = probabilities.ToArray();
            model.Run(new float[64]);

            Assert.False(probabilities.IsValid);
            InvalidOperationException? ex = null;
            try
            {
                _ = probabilities[0];
            }
            catch (InvalidOperationException e)
            {
                ex = e;
            }

            Assert.NotNull(ex);
            Assert.Contains("'probabilities'", ex.Message);
            Assert.Contains("ToArray()", ex.Message);
            bool labelThrew = false;
            try
            {
                _ = first.Label;
            }
            catch (InvalidOperationException)
            {
                labelThrew = true;
            }

            Assert.True(labelThrew);
            Assert.Equal(10, kept.Length);
        }

        [Fact]
        public void Runs_with_the_same_lengths_reuse_shapes_but_a_rejected_shape_or_a_given_dim_is_not_reused()
        {
            using DynamicBatch model = DynamicBatch.Load();
            float[] two = Enumerable.Range(0, 16).Select(i => i / 16f).ToArray();
            float[] expected = model.Run(two).Scores.ToArray();
            Assert.Equal(expected, model.Run(two).Scores.ToArray()); // prepared from the length alone: reused

            // A shape rejected half-way (after its first dim was taken) must not leak into the next flat run.
            Assert.Throws<ArgumentException>(() => model.Run(new TensorInput<float>(two, new nint[] { 4, -1 })));
            DynamicBatch.Result again = model.Run(two);
            Assert.Equal(new long[] { 2, 4 }, again.Scores.Shape.ToArray());
            Assert.Equal(expected, again.Scores.ToArray());

            // A given dim decides the shape itself; the same length afterwards is prepared again.
            Assert.Throws<ArgumentException>(() => model.Run(two, batch: 4));
            Assert.Equal(expected, model.Run(two).Scores.ToArray());
            Assert.Equal(new long[] { 1, 4 }, model.Run(two.AsSpan(0, 8)).Scores.Shape.ToArray());
            Assert.Equal(expected, model.Run(two).Scores.ToArray());
        }

        [Fact]
        public void Output_view_read_after_dispose_throws()
        {
            Digits model = Digits.Load();
            OutputSpan<long> label = model.Run(new float[64]).Label;
            model.Dispose();
            bool threw = false;
            try
            {
                _ = label.Span.Length;
            }
            catch (InvalidOperationException)
            {
                threw = true;
            }

            Assert.True(threw);
            Assert.Throws<ObjectDisposedException>(() => model.Run(new float[64]));
        }

        [Fact]
        public void Steady_state_run_allocates_nothing()
        {
            using Tiny model = Tiny.Load();
            float[] x = { 1, 2, 3, 4 };
            float[] y = { 5, 6, 7, 8 };
            float sum = 0;
            long allocated = Allocations.LeastPerRound(() =>
            {
                sum = 0;
                for (int i = 0; i < 1000; i++)
                {
                    sum += model.Run(x).Y[0];      // same buffer: nothing re-bound
                    sum += model.Run(y).Y[0];      // another buffer: re-bound natively, still no managed allocation
                }
            });

            Assert.Equal(0, allocated);
            Assert.Equal(1000 * (2 + 6), sum);
        }

        [Fact]
        public void Alternating_batch_sizes_allocate_nothing_once_buffers_have_grown()
        {
            using DynamicBatch model = DynamicBatch.Load();
            var one = new float[8];
            var five = new float[40];
            long allocated = Allocations.LeastPerRound(() =>
            {
                for (int i = 0; i < 200; i++)
                {
                    model.Run(five);
                    model.Run(one);
                }
            });

            Assert.Equal(0, allocated);
        }

        [Fact]
        public void Concurrent_callers_each_get_their_own_request_and_correct_results()
        {
            using Digits model = Digits.Load();
            float[] pixels = TestData.Input("digits", 0).As<float>();
            float[] expected = TestData.Output("digits", 1).As<float>();
            long label = TestData.Output("digits", 0).As<long>()[0];
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
            {
                var mine = (float[])pixels.Clone();
                for (int i = 0; i < 200; i++)
                {
                    Digits.Result r = model.Run(mine);
                    Assert.Equal(label, r.Label[0]);
                    Assert.Equal(expected[(int)label], r.Probabilities[(int)label], 4);
                }
            });
        }

        [Fact]
        public void Own_requests_keep_their_outputs_while_the_thread_request_runs_again()
        {
            using Digits model = Digits.Load();
            using Digits.Request own = model.CreateRequest();
            Digits.Result mine = own.Infer(TestData.Input("digits", 0).As<float>());
            long label = mine.Label[0];
            model.Run(new float[64]);
            Assert.Equal(label, mine.Label[0]);
            Assert.Equal(label, own.Untyped.GetOutput("label").As<long>()[0]);
        }

        [Fact]
        public void Copy_mode_reads_the_input_at_call_time()
        {
            using Tiny model = Tiny.Load();
            using Tiny.Request request = model.CreateRequest();
            request.InputMode = InputMode.Copy;
            float[] x = { 1, 2, 3, 4 };
            Assert.Equal(new float[] { 2, 3, 4, 5 }, request.Infer(x).Y.ToArray());
        }

        [Fact]
        public void Native_function_table_indices_match_onnx_runtime()
        {
            // ModelSdk calls ONNX Runtime's C API by index; the managed wrapper's own OrtApi struct is the reference.
            Type api = typeof(InferenceSession).Assembly.GetType("Microsoft.ML.OnnxRuntime.OrtApi")!;
            foreach (FieldInfo constant in typeof(CompiledModel).Assembly.GetType("ModelSdk.Native.OrtApi")!
                         .GetFields(BindingFlags.NonPublic | BindingFlags.Static).Where(f => f.Name.StartsWith("Index")))
            {
                string function = constant.Name["Index".Length..];
                int expected = (int)Marshal.OffsetOf(api, function) / IntPtr.Size;
                Assert.True(expected == (int)constant.GetValue(null)!, $"{function}: ModelSdk uses {constant.GetValue(null)}, ONNX Runtime has {expected}");
            }
        }
    }
}
