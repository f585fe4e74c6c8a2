using System;
using System.IO;
using System.Linq;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Tests
{
    public class DigitsTests
    {
        [Fact]
        public void Compile_time_shapes_are_constants()
        {
            Assert.Equal("pixels", Digits.Inputs.Pixels.OnnxName);
            Assert.Equal(2, Digits.Inputs.Pixels.Rank);
            Assert.Equal(1, Digits.Inputs.Pixels.Dim0);
            Assert.Equal(64, Digits.Inputs.Pixels.Dim1);
            Assert.Equal(64, Digits.Inputs.Pixels.ElementCount);
            Assert.Equal("digits.onnx", Digits.DefaultModelPath);
        }

        [Fact]
        public void Run_matches_numpy_forward_pass()
        {
            using Digits model = Digits.Load();
            TestTensor pixels = TestData.Input("digits", 0);
            Digits.Result result = model.Run(pixels.As<float>());

            Assert.Equal(TestData.Output("digits", 0).As<long>(), result.Label.ToArray());
            string? problem = TensorAssert.CompareBytes(OnnxElementType.Float, TestData.Output("digits", 1).Bytes,
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.Probabilities.Span), 1e-4, 1e-6);
            Assert.Null(problem);
            Assert.Equal(new long[] { 1, 10 }, result.Probabilities.Shape.ToArray());
        }

        [Fact]
        public void Classifies_the_held_out_samples_like_the_training_script_did()
        {
            // The script measured 97.3% on the whole held-out split; the 50 shipped samples must do about as well.
            using Digits model = Digits.Load();
            string[] rows = File.ReadAllLines(Path.Combine(TestData.ModelsDir, "digits_samples.csv")).Skip(1).ToArray();
            int correct = 0;
            foreach (string row in rows)
            {
                float[] values = row.Split(',').Select(float.Parse).ToArray();
                Digits.Result result = model.Run(values.AsSpan(1));
                float[] p = result.Probabilities.ToArray();
                Assert.Equal(1.0, p.Sum(), 3);
                Assert.Equal(Array.IndexOf(p, p.Max()), (int)result.Label[0]);
                correct += result.Label[0] == (long)values[0] ? 1 : 0;
            }

            Assert.Equal(50, rows.Length);
            Assert.InRange(correct, 46, 50);
        }

        [Fact]
        public void Loads_from_path_and_from_bytes()
        {
            float[] pixels = TestData.Input("digits", 0).As<float>();
            using Digits fromPath = Digits.Load(TestData.Model("digits"));
            using Digits fromBytes = Digits.Load(File.ReadAllBytes(TestData.Model("digits")));
            Assert.Equal(fromPath.Run(pixels).Probabilities.ToArray(), fromBytes.Run(pixels).Probabilities.ToArray());
            Assert.Equal(TestData.Model("digits"), fromPath.Source.Path);
        }

        [Fact]
        public void Missing_file_names_the_path()
        {
            string path = Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid() + ".onnx");
            var ex = Assert.Throws<FileNotFoundException>(() => Digits.Load(path));
            Assert.Contains(path, ex.Message);
        }

        [Fact]
        public void A_different_model_file_is_rejected_with_what_differs()
        {
            var ex = Assert.Throws<ModelLoadException>(() => Digits.Load(TestData.Model("mlp_mid")));
            Assert.Contains("does not match model 'Digits'", ex.Message);
            Assert.Contains("input 'pixels' is missing", ex.Message);
            Assert.Contains("extra input 'x'", ex.Message);
        }

        [Fact]
        public void Corrupt_file_at_run_time_is_a_load_error_naming_the_path()
        {
            string path = Path.Combine(Path.GetTempPath(), "corrupt-" + Guid.NewGuid() + ".onnx");
            File.WriteAllBytes(path, File.ReadAllBytes(TestData.Model("digits")).Take(100).ToArray());
            try
            {
                var ex = Assert.Throws<ModelLoadException>(() => Digits.Load(path));
                Assert.Contains(path, ex.Message);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
