using System;
using System.Linq;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Issue 5: lazy outputs, output subsets, caller buffers and chaining.</summary>
    public class PostponedReturnTests
    {
        private static readonly float[] X = Enumerable.Range(1, 16).Select(i => (float)i).ToArray();

        [Fact]
        public void Asking_for_the_small_output_neither_computes_nor_allocates_the_large_one()
        {
            using TwoOutputs model = TwoOutputs.Load();
            long before = GC.GetAllocatedBytesForCurrentThread();
            TwoOutputs.Result r = model.Run(X, TwoOutputs.Outputs.Small);
            Assert.Equal(136f, r.Small[0]);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1024 * 1024, $"first run allocated {allocated} bytes; the 16 MB output must not be allocated");

            InvalidOperationException? ex = null;
            try
            {
                _ = r.Large;
            }
            catch (InvalidOperationException e)
            {
                ex = e;
            }

            Assert.NotNull(ex);
            Assert.Contains("'large'", ex.Message);
            Assert.Contains("not requested", ex.Message);

            // Selecting everything again brings the large output back.
            Assert.Equal(1024 * 4096, model.Run(X).Large.Length);
        }

        [Fact]
        public void A_subset_runs_a_model_pruned_to_it_and_all_outputs_run_the_whole_model()
        {
            using TwoOutputs model = TwoOutputs.Load();
            using TwoOutputs.Request request = model.CreateRequest();
            request.SelectOutputs(TwoOutputs.Outputs.Small);
            Assert.Equal(136f, request.Infer(X).Small[0]);
            Assert.True(request.Untyped.RunsPrunedModel, "ONNX Runtime runs every node: only a pruned model skips the 16 MB Tile");

            request.SelectOutputs(TwoOutputs.Outputs.All);
            Assert.Equal(16f, request.Infer(X).Large[15]);
            Assert.False(request.Untyped.RunsPrunedModel);

            using TwoOutputs unpruned = TwoOutputs.Load(new ModelOptions { PruneUnselectedOutputs = false });
            using TwoOutputs.Request plain = unpruned.CreateRequest();
            plain.SelectOutputs(TwoOutputs.Outputs.Small);
            Assert.Equal(136f, plain.Infer(X).Small[0]);
            Assert.False(plain.Untyped.RunsPrunedModel);
        }

        [Fact]
        public void Switching_output_selection_keeps_every_output_correct()
        {
            using TwoOutputs model = TwoOutputs.Load();
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(136f, model.Run(X, TwoOutputs.Outputs.Small).Small[0]);
                TwoOutputs.Result both = model.Run(X, TwoOutputs.Outputs.Large | TwoOutputs.Outputs.Small);
                Assert.Equal(136f, both.Small[0]);
                Assert.Equal(16f, both.Large[15]);
                Assert.Equal(7f, model.Run(X, TwoOutputs.Outputs.Large).Large[4096 + 6]);
            }
        }

        [Fact]
        public void Output_written_into_the_callers_buffer()
        {
            using Digits model = Digits.Load();
            using Digits.Request request = model.CreateRequest();
            var probabilities = new float[10];
            request.SetProbabilitiesDestination(probabilities);
            Digits.Result r = request.Infer(TestData.Input("digits", 0).As<float>());

            Assert.Equal(TestData.Output("digits", 1).As<float>(), probabilities, new FloatComparer(1e-5f));
            Assert.True(r.Probabilities.Span.Overlaps(probabilities), "the view is the caller's buffer, not a copy");
        }

        [Fact]
        public void Callers_buffer_size_is_checked_before_the_run()
        {
            using Digits model = Digits.Load();
            using Digits.Request request = model.CreateRequest();
            request.SetProbabilitiesDestination(new float[9]);
            var ex = Assert.Throws<ArgumentException>(() => request.Infer(new float[64]));
            Assert.Contains("'probabilities'", ex.Message);
            Assert.Contains("10 elements", ex.Message);
            Assert.Contains("holds 9", ex.Message);
        }

        [Fact]
        public void An_output_whose_shape_is_known_only_after_the_run_cant_go_to_a_callers_buffer()
        {
            using NonZero model = NonZero.Load();
            using NonZero.Request request = model.CreateRequest();
            var ex = Assert.Throws<InvalidOperationException>(() => request.SetIndicesDestination(new long[100]));
            Assert.Contains("known only after the run", ex.Message);
        }

        [Fact]
        public void Encoder_output_feeds_the_head_without_a_copy_and_matches_the_whole_model()
        {
            float[] pixels = TestData.Input("digits", 0).As<float>();
            using DigitsEncoder encoder = DigitsEncoder.Load();
            using DigitsHead head = DigitsHead.Load();
            using Digits whole = Digits.Load();

            DigitsHead.Result chained = head.Run(encoder.Run(pixels).Features);
            Digits.Result direct = whole.Run(pixels);
            Assert.Equal(direct.Label[0], chained.Label[0]);
            Assert.Equal(direct.Probabilities.ToArray(), chained.Probabilities.ToArray(), new FloatComparer(1e-5f));
        }

        [Fact]
        public void Chaining_allocates_nothing_per_call()
        {
            float[] pixels = TestData.Input("digits", 0).As<float>();
            using DigitsEncoder encoder = DigitsEncoder.Load();
            using DigitsHead head = DigitsHead.Load();
            long sum = 0;
            long allocated = Allocations.LeastPerRound(() =>
            {
                sum = 0;
                for (int i = 0; i < 500; i++)
                {
                    sum += head.Run(encoder.Run(pixels).Features, DigitsHead.Outputs.Label).Label[0];
                }
            });

            Assert.Equal(0, allocated);
            Assert.Equal(500 * TestData.Output("digits", 0).As<long>()[0], sum);
        }

        [Fact]
        public void An_upstream_view_that_went_stale_is_refused_as_input()
        {
            using DigitsEncoder encoder = DigitsEncoder.Load();
            using DigitsHead head = DigitsHead.Load();
            DigitsEncoder.OwnedResult kept = encoder.Run(new float[64]).ToOwned();
            OutputTensor<float> features = kept.Features;
            kept.Dispose();
            Assert.Throws<InvalidOperationException>(() => head.Run(features));
        }

        [Fact]
        public void Outputs_by_name_and_index_through_the_same_request()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Request request = model.CreateRequest();
            request.Infer(new float[3 * 8]);
            OutputValue byName = request.Untyped.GetOutput("scores");
            OutputValue byIndex = request.Untyped.GetOutput(0);
            Assert.Equal(new long[] { 3, 4 }, byName.Shape.ToArray());
            Assert.Equal(byIndex.Bytes.ToArray(), byName.Bytes.ToArray());
            Assert.Equal(OnnxElementType.Int64, request.Untyped.GetOutput("best").ElementType);
            Assert.Throws<ArgumentException>(() => request.Untyped.GetOutput("nope"));
        }

        private sealed class FloatComparer : System.Collections.Generic.IEqualityComparer<float>
        {
            private readonly float _tolerance;

            public FloatComparer(float tolerance) => _tolerance = tolerance;

            public bool Equals(float x, float y) => Math.Abs(x - y) <= _tolerance;

            public int GetHashCode(float obj) => 0;
        }
    }
}
