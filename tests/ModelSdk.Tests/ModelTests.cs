using System;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Tests.Hostile;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Each test model, run through its generated class, against numpy's expected outputs.</summary>
    public class ModelTests
    {
        [Fact]
        public void Copied_options_carry_every_setting_and_a_model_keeps_its_own_copy()
        {
            Action<CompiledModel, TimeSpan> onSlowRun = (_, _) => { };
            Action<Microsoft.ML.OnnxRuntime.SessionOptions> configure = _ => { };
            var options = new ModelOptions
            {
                IntraOpNumThreads = 3,
                InterOpNumThreads = 2,
                GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                ExecutionMode = Microsoft.ML.OnnxRuntime.ExecutionMode.ORT_PARALLEL,
                InputMode = InputMode.Copy,
                AsyncInputMode = InputMode.Shared,
                PruneUnselectedOutputs = false,
                MaxIdleRequests = 7,
                IdleRequestTimeout = TimeSpan.FromSeconds(5),
                SlowRunThreshold = TimeSpan.FromSeconds(1),
                OnSlowRun = onSlowRun,
                ConfigureSession = configure,
            };

            // Every settable property, so that a setting added later and forgotten in the copy fails here.
            var copy = new ModelOptions(options);
            foreach (System.Reflection.PropertyInfo property in typeof(ModelOptions).GetProperties().Where(p => p.CanWrite))
            {
                Assert.True(Equals(property.GetValue(options), property.GetValue(copy)), property.Name + " was not copied");
                Assert.NotEqual(property.GetValue(new ModelOptions()), property.GetValue(options)); // the test sets each one
            }

            using Digits model = Digits.Load(options);
            options.MaxIdleRequests = 1;
            Assert.Equal(7, model.Options.MaxIdleRequests);
        }

        [Fact]
        public void Every_element_type_round_trips()
        {
            using AllTypes model = AllTypes.Load();
            TestTensor In(int i) => TestData.Input("types", i);
            AllTypes.Result r = model.Run(
                In(0).As<float>(), In(1).As<double>(), In(2).As<int>(), In(3).As<long>(), In(4).As<bool>(),
                In(5).As<byte>(), In(6).As<sbyte>(), In(7).As<short>(), In(8).As<ushort>(), In(9).As<uint>(),
                In(10).As<ulong>(), In(11).As<Half>(), In(12).As<BFloat16>(), In(13).Strings!);

            Assert.Equal(TestData.Output("types", 0).As<float>(), r.F32Out.ToArray());
            Assert.Equal(TestData.Output("types", 1).As<double>(), r.F64Out.ToArray());
            Assert.Equal(TestData.Output("types", 2).As<int>(), r.I32Out.ToArray());
            Assert.Equal(TestData.Output("types", 3).As<long>(), r.I64Out.ToArray());
            Assert.Equal(TestData.Output("types", 4).As<bool>(), r.BoolOut.ToArray());
            Assert.Equal(TestData.Output("types", 5).As<byte>(), r.U8Out.ToArray());
            Assert.Equal(TestData.Output("types", 6).As<sbyte>(), r.I8Out.ToArray());
            Assert.Equal(TestData.Output("types", 7).As<short>(), r.I16Out.ToArray());
            Assert.Equal(TestData.Output("types", 8).As<ushort>(), r.U16Out.ToArray());
            Assert.Equal(TestData.Output("types", 9).As<uint>(), r.U32Out.ToArray());
            Assert.Equal(TestData.Output("types", 10).As<ulong>(), r.U64Out.ToArray());
            Assert.Equal(TestData.Output("types", 11).As<Half>(), r.F16Out.ToArray());
            Assert.Equal(TestData.Output("types", 12).As<BFloat16>(), r.Bf16Out.ToArray());
            Assert.Equal(TestData.Output("types", 13).Strings, r.StrOut.ToArray());
            Assert.Equal(new[] { "héllo", "世界" }, In(13).Strings);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        public void Dynamic_batch_matches_numpy(int set)
        {
            using DynamicBatch model = DynamicBatch.Load();
            DynamicBatch.Result r = model.Run(TestData.Input("dynamic_batch", 0, set).As<float>());
            TestData.AssertOutput(TestData.Output("dynamic_batch", 0, set), model.LastRequestOutput(0));
            TestData.AssertOutput(TestData.Output("dynamic_batch", 1, set), model.LastRequestOutput(1));
            Assert.Equal(TestData.Output("dynamic_batch", 1, set).As<long>(), r.Best.ToArray());
        }

        [Fact]
        public void Alternating_batch_sizes_give_right_shapes_and_values()
        {
            using DynamicBatch model = DynamicBatch.Load();
            float[] one = TestData.Input("dynamic_batch", 0, 0).As<float>();
            float[] five = TestData.Input("dynamic_batch", 0, 1).As<float>();
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(TestData.Output("dynamic_batch", 1, 1).As<long>(), model.Run(five).Best.ToArray());
                Assert.Equal(TestData.Output("dynamic_batch", 1, 0).As<long>(), model.Run(one).Best.ToArray());
            }
        }

        [Fact]
        public void Output_whose_shape_depends_on_the_data_is_read_with_its_actual_shape()
        {
            using NonZero model = NonZero.Load();
            NonZero.Result r = model.Run(TestData.Input("nonzero", 0).As<float>());
            Assert.Equal(new long[] { 1, 3 }, r.Indices.Shape.ToArray());
            Assert.Equal(TestData.Output("nonzero", 0).As<long>(), r.Indices.ToArray());

            r = model.Run(new float[] { 1, 1, 0, 1, 1, 1, 0 });
            Assert.Equal(new long[] { 0, 1, 3, 4, 5 }, r.Indices.ToArray());
            Assert.Equal(new long[] { 1, 5 }, r.Indices.Shape.ToArray());
        }

        [Fact]
        public void Legacy_initializers_listed_as_inputs_are_not_parameters()
        {
            Assert.Single(Legacy.ModelSignature.Inputs);
            using Legacy model = Legacy.Load();
            Legacy.Result r = model.Run(TestData.Input("legacy_initializer_inputs", 0).As<float>());
            TestData.AssertOutput(TestData.Output("legacy_initializer_inputs", 0), model.LastRequestOutput(0));
            Assert.Equal(2, r.Y.Length);
        }

        [Fact]
        public void Sequence_output_is_a_typed_list_of_tensors_next_to_the_tensor_output()
        {
            using SequenceOutput model = SequenceOutput.Load();
            float[] x = TestData.Input("sequence_output", 0).As<float>();
            SequenceOutput.Result r = model.Run(x);
            Assert.Equal(TestData.Output("sequence_output", 0).As<float>(), r.Y.ToArray());
            OnnxSequence<OnnxTensor<float>> parts = r.Parts; // SequenceConstruct(x, x)
            Assert.Equal(2, parts.Count);
            Assert.All(parts, p => Assert.Equal(x, p.ToArray()));
            Assert.All(parts, p => Assert.Equal(new long[] { 3 }, p.Shape));
        }

        [Fact]
        public void Hostile_names_map_to_safe_members_in_graph_order()
        {
            using HostileNames model = HostileNames.Load();
            HostileNames.Result r = model.Run(new float[] { 1 }, new float[] { 2 }, new float[] { 3 }, new float[] { 4 },
                new float[] { 5 }, new float[] { 6 }, new float[] { 7 }, new float[] { 8 });
            float[] outputs =
            {
                r.OutPut[0], r.Int[0], r.Result2[0], r.OutPut2[0], r.ToString2[0], r._1st[0], r.Equals2[0], r.Output7[0],
            };
            for (int i = 0; i < 8; i++)
            {
                TestData.AssertOutput(TestData.Output("hostile_names", i), model.LastRequestOutput(i));
            }

            Assert.Equal(Enumerable.Range(0, 8).Select(i => TestData.Output("hostile_names", i).As<float>()[0]), outputs);
            Assert.Equal("x::y/z.w", HostileNames.Inputs.XYZW.OnnxName);
            Assert.Equal("ünï cødé", HostileNames.Inputs.ÜnïCødé.OnnxName);
        }

        [Fact]
        public void Tiny_mid_and_compute_bound_models_match_numpy()
        {
            using (Tiny tiny = Tiny.Load())
            {
                tiny.Run(TestData.Input("tiny", 0).As<float>());
                TestData.AssertOutput(TestData.Output("tiny", 0), tiny.LastRequestOutput(0));
            }

            using (MlpMid mid = MlpMid.Load())
            {
                mid.Run(TestData.Input("mlp_mid", 0).As<float>());
                TestData.AssertOutput(TestData.Output("mlp_mid", 0), mid.LastRequestOutput(0));
            }

            using (ComputeBound big = ComputeBound.Load())
            {
                big.Run(TestData.Input("compute_bound", 0).As<float>());
                TestData.AssertOutput(TestData.Output("compute_bound", 0), big.LastRequestOutput(0));
            }
        }

        [Fact]
        public void Twelve_megabyte_input_is_read_in_place()
        {
            using BigInput model = BigInput.Load();
            float[] image = new float[BigInput.Inputs.Image.ElementCount];
            for (int i = 0; i < 16; i++)
            {
                image[i] = i * 0.5f;
            }

            Assert.Equal(Enumerable.Range(0, 16).Select(i => i * 1.0f), model.Run(image).Corner.ToArray());

            // Shared, not copied: changing the caller's buffer changes the next run's result.
            image[3] = 100;
            Assert.Equal(200f, model.Run(image).Corner[3]);
        }

        [Fact]
        public void Two_outputs_small_and_large()
        {
            using TwoOutputs model = TwoOutputs.Load();
            float[] x = Enumerable.Range(1, 16).Select(i => (float)i).ToArray();
            TwoOutputs.Result r = model.Run(x);
            Assert.Equal(136f, r.Small[0]);
            Assert.Equal(1024 * 4096, r.Large.Length);
            Assert.Equal(5f, r.Large[4]);
            Assert.Equal(16f, r.Large[4096 * 1023 + 15]);
        }
    }

    internal static class ModelTestExtensions
    {
        /// <summary>The untyped view of an output of the model's last run on this thread (by index).</summary>
        public static OutputValue LastRequestOutput(this CompiledModel model, int index) => model.Pool.ThisThreadRequest!.GetOutput(index);
    }
}
