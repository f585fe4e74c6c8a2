using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>
    /// The generated code of a few models, compared with committed files in Golden/. After an intended
    /// change, rewrite them with MODELSDK_UPDATE_GOLDEN=1 dotnet test tests/ModelSdk.Generators.Tests
    /// and review the diff.
    /// </summary>
    public class GoldenFileTests
    {
        [Theory]
        [InlineData("digits", null)]
        [InlineData("dynamic_batch", null)]
        [InlineData("types", "AllTypes")]
        [InlineData("nonzero", null)]
        [InlineData("hostile_names", null)]
        [InlineData("sequence_output", null)]
        [InlineData("sequence_input", null)]
        [InlineData("map_input", null)]
        [InlineData("optional_values", null)]
        [InlineData("iris_classifier", "IrisClassifier")]
        [InlineData("legacy_initializer_inputs", "Legacy")]
        public void Generated_code_matches_the_golden_file(string model, string? className)
        {
            var (run, _, _) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model(model), className, "Golden.Models") });
            GeneratedSourceResult source = Assert.Single(run.Results.Single().GeneratedSources);
            string actual = source.SourceText.ToString().Replace("\r\n", "\n");
            string goldenPath = Path.Combine(GeneratorHarness.GoldenDir, source.HintName);

            if (Environment.GetEnvironmentVariable("MODELSDK_UPDATE_GOLDEN") == "1")
            {
                File.WriteAllText(goldenPath, actual);
                return;
            }

            Assert.True(File.Exists(goldenPath), $"No golden file {goldenPath}: run with MODELSDK_UPDATE_GOLDEN=1 to create it.");
            string expected = File.ReadAllText(goldenPath).Replace("\r\n", "\n");
            if (expected != actual)
            {
                string[] e = expected.Split('\n'), a = actual.Split('\n');
                int line = Enumerable.Range(0, Math.Min(e.Length, a.Length)).FirstOrDefault(i => e[i] != a[i], Math.Min(e.Length, a.Length));
                Assert.Fail($"{source.HintName} differs from {goldenPath} at line {line + 1}:\n  expected: {e.ElementAtOrDefault(line)}\n  actual:   {a.ElementAtOrDefault(line)}\n" +
                            "If the change is intended, rerun with MODELSDK_UPDATE_GOLDEN=1 and review the diff.");
            }
        }
    }
}
