using System;
using System.Numerics.Tensors;
using Xunit;

namespace ModelSdk.Tests
{
    public class InputValidationTests
    {
        [Fact]
        public void Wrong_length_names_input_expected_shape_and_received_length()
        {
            using Digits model = Digits.Load();
            var ex = Assert.Throws<ArgumentException>(() => model.Run(new float[63]));
            Assert.Contains("'pixels'", ex.Message);
            Assert.Contains("[1, 64]", ex.Message);
            Assert.Contains("64 elements", ex.Message);
            Assert.Contains("received 63", ex.Message);
        }

        [Fact]
        public void Null_input_is_an_argument_null_exception()
        {
            using Digits model = Digits.Load();
            var ex = Assert.Throws<ArgumentNullException>(() => model.Run((float[])null!));
            Assert.Contains("pixels", ex.Message);
        }

        [Fact]
        public void Symbolic_dim_is_inferred_from_length_or_taken_from_argument()
        {
            using DynamicBatch model = DynamicBatch.Load();
            var features = new float[3 * 8];
            Assert.Equal(new long[] { 3, 4 }, model.Run(features).Scores.Shape.ToArray());
            Assert.Equal(new long[] { 3 }, model.Run(features, batch: 3).Best.Shape.ToArray());

            var ex = Assert.Throws<ArgumentException>(() => model.Run(features, batch: 2));
            Assert.Contains("[batch=2, 8]", ex.Message);
            Assert.Contains("16 elements", ex.Message);
            Assert.Contains("received 24", ex.Message);

            var notDivisible = Assert.Throws<ArgumentException>(() => model.Run(new float[20]));
            Assert.Contains("batch", notDivisible.Message);
        }

        [Fact]
        public void Negative_symbolic_dim_is_rejected_before_onnx_runtime()
        {
            using DynamicBatch model = DynamicBatch.Load();
            Assert.Throws<ArgumentOutOfRangeException>(() => model.Run(new float[8], batch: -1));
        }

        [Fact]
        public void Tensor_inputs_bring_their_shape_which_is_checked()
        {
            using DynamicBatch model = DynamicBatch.Load();
            Tensor<float> good = Tensor.Create(new float[2 * 8], new nint[] { 2, 8 });
            Assert.Equal(new long[] { 2, 4 }, model.Run(good).Scores.Shape.ToArray());

            Tensor<float> wrongRank = Tensor.Create(new float[16], new nint[] { 16 });
            var ex = Assert.Throws<ArgumentException>(() => model.Run(wrongRank));
            Assert.Contains("2 dimensions", ex.Message);

            Tensor<float> wrongDim = Tensor.Create(new float[2 * 4], new nint[] { 2, 4 });
            ex = Assert.Throws<ArgumentException>(() => model.Run(wrongDim));
            Assert.Contains("dimension 1 must be 8", ex.Message);

            ex = Assert.Throws<ArgumentException>(() => model.Run(good, batch: 3));
            Assert.Contains("batch = 3", ex.Message);
        }

        [Fact]
        public void A_failed_call_leaves_the_request_usable()
        {
            using Digits model = Digits.Load();
            Assert.Throws<ArgumentException>(() => model.Run(new float[10]));
            Assert.Equal(1, model.Run(new float[64]).Label.Length);
        }

        [Fact]
        public void Errors_name_the_CSharp_parameters_of_a_renamed_model_next_to_the_ONNX_names()
        {
            // dynamic_batch with Rename="batch=rows;features=values": Run(values, rows).
            using RenamedBatch model = RenamedBatch.Load(TestData.Model("dynamic_batch"));
            var length = Assert.Throws<ArgumentException>(() => model.Run(new float[12], rows: 2));
            Assert.Equal("values", length.ParamName);
            Assert.Contains("Input 'features' (parameter values)", length.Message);

            var infer = Assert.Throws<ArgumentException>(() => model.Run(new float[12]));
            Assert.Contains("pass rows (the symbolic dimension 'batch') explicitly", infer.Message);

            var negative = Assert.Throws<ArgumentOutOfRangeException>(() => model.Run(new float[8], rows: -1));
            Assert.Equal("rows", negative.ParamName);
            Assert.Contains("'batch' (parameter rows)", negative.Message);
        }

        [Fact]
        public void Dims_of_2_to_the_32_and_more_load_and_are_checked_as_they_are()
        {
            // The build issue saw such a model fail at load with "dimension 1 = 0" (a dim cut to 32 bits somewhere).
            Assert.Equal(4294967296L, HugeDims.Inputs.X.Dim1);
            using HugeDims model = HugeDims.Load(TestData.Model("huge_dims"));
            Assert.Equal(4294967296L, model.Signature.Inputs[0].Dims[1].Value);
            var e = Assert.Throws<ArgumentException>(() => model.Run(new float[4]));
            Assert.Contains("expects shape [1, 4294967296] (4294967296 elements) but received 4 elements", e.Message);
        }
    }
}
