using System;
using System.IO;
using System.Linq;
using System.Reflection;
using ModelSdk.TestSupport;

namespace ModelSdk.Tests
{
    /// <summary>Paths of the repo's models and their expected outputs (computed by numpy in models/make_models.py).</summary>
    internal static class TestData
    {
        public static readonly string ModelsDir = typeof(TestData).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ModelsDir").Value!;

        public static string Model(string name) => Path.Combine(ModelsDir, name + ".onnx");

        public static TestTensor Input(string model, int index, int set = 0) =>
            OnnxTensorFile.Read(Path.Combine(ModelsDir, "testdata", model, $"test_data_set_{set}", $"input_{index}.pb"));

        public static TestTensor Output(string model, int index, int set = 0) =>
            OnnxTensorFile.Read(Path.Combine(ModelsDir, "testdata", model, $"test_data_set_{set}", $"output_{index}.pb"));

        /// <summary>Asserts an actual output equals the expected tensor (floats within ONNX's backend-test tolerance).</summary>
        public static void AssertOutput(TestTensor expected, OutputValue actual)
        {
            string? problem = TensorAssert.Compare(expected, actual);
            Xunit.Assert.True(problem is null, $"output '{expected.Name}': {problem}");
        }
    }
}
