using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>Generated code compiles cleanly in a strict project: nullable on, warnings as errors, XML docs checked.</summary>
    public class CompileTests
    {
        public static IEnumerable<object[]> AllModels() =>
            Directory.GetFiles(GeneratorHarness.ModelsDir, "*.onnx").Select(p => new object[] { Path.GetFileNameWithoutExtension(p) });

        [Theory]
        [MemberData(nameof(AllModels))]
        public void Every_repo_model_compiles_without_warnings(string model)
        {
            foreach (LanguageVersion version in new[] { LanguageVersion.CSharp12, LanguageVersion.Latest })
            {
                var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model(model)) }, version: version);
                Assert.Single(run.Results.Single().GeneratedSources);

                // Every type of every repo model has a C# type now: no warning at all.
                Diagnostic[] problems = diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
                Assert.True(problems.Length == 0, $"{model} (C# {version}):\n{GeneratorHarness.Describe(problems)}");
            }
        }

        [Fact]
        public void User_code_reads_typed_members_and_shape_constants()
        {
            const string user = @"
namespace UserProject
{
    internal static class Usage
    {
        public static long Classify(Digits model, float[] pixels)
        {
            System.Diagnostics.Debug.Assert(pixels.Length == Digits.Inputs.Pixels.ElementCount);
            Digits.Result result = model.Run(pixels);
            System.ReadOnlySpan<float> p = result.Probabilities;
            return result.Label[0] + (long)p[0] + Digits.Inputs.Pixels.Dim1;
        }

        public static int Batch(DynamicBatch model, float[] rows) => model.Run(rows, batch: rows.Length / 8).Scores.Length;
    }
}";
            var (_, _, diagnostics) = GeneratorHarness.Run(
                new[] { new ModelItem(GeneratorHarness.Model("digits")), new ModelItem(GeneratorHarness.Model("dynamic_batch")) }, user);
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
        }

        [Fact]
        public void A_model_without_inputs_compiles()
        {
            // Its typed StartAsync(CancellationToken) has the base class's signature: it must hide it, not recurse.
            var model = new MemoryStream();
            new ProtoWriter(model).Int(1, 8).Message(7, g => g.Message(12, v => ProtoWriter.FloatTensorValue(v, "value", 2)));
            string path = Path.Combine(Path.GetTempPath(), "modelsdk-noinputs-" + System.Guid.NewGuid() + ".onnx");
            File.WriteAllBytes(path, model.ToArray());
            try
            {
                var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path, "Constant") });
                Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
                Assert.Contains("return base.StartAsync(cancellationToken);", run.Results.Single().GeneratedSources.Single().SourceText.ToString());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void Global_namespace_works_when_the_project_has_no_root_namespace()
        {
            var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("tiny")) }, rootNamespace: "");
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
            Assert.DoesNotContain("namespace", run.Results.Single().GeneratedSources.Single().SourceText.ToString().Split('\n').Where(l => l.StartsWith("namespace")));
        }

        [Fact]
        public void Class_name_and_namespace_come_from_item_metadata()
        {
            var (run, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("digits_encoder"), "TextEncoder", "MyApp.Ml") });
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
            Assert.NotNull(output.GetTypeByMetadataName("MyApp.Ml.TextEncoder"));
            Assert.Equal("MyApp.Ml.TextEncoder.g.cs", run.Results.Single().GeneratedSources.Single().HintName);
        }

        [Fact]
        public void Class_names_are_pascal_case_from_the_file_name()
        {
            var (_, output, diagnostics) = GeneratorHarness.Run(new[]
            {
                new ModelItem(GeneratorHarness.Model("digits_encoder")),
                new ModelItem(GeneratorHarness.Model("legacy_initializer_inputs")),
            });
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.DigitsEncoder"));
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.LegacyInitializerInputs"));
        }
    }
}
