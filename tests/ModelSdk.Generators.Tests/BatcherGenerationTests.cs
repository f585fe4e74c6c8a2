using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>Which models get a Batcher: found by the generator, named by BatchDim, or MSDK0008 when BatchDim can't batch the model.</summary>
    public sealed class BatcherGenerationTests
    {
        private static (string Source, Diagnostic[] Diagnostics) Generate(ModelItem item)
        {
            var (run, output, diagnostics) = GeneratorHarness.Run(new[] { item });
            Assert.Null(run.Results.Single().Exception);
            string source = string.Concat(run.Results.Single().GeneratedSources.Select(s => s.SourceText.ToString()));
            Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
            return (source, diagnostics.Where(d => d.Id.StartsWith("MSDK")).ToArray());
        }

        [Theory]
        [InlineData("dynamic_batch", "batch")]
        [InlineData("mlp_mid_batch", "batch")]
        [InlineData("digits_batch", "batch")]
        [InlineData("compute_bound_batch", "batch")]
        public void A_model_whose_inputs_and_outputs_start_with_one_symbolic_dim_gets_a_batcher(string model, string dim)
        {
            (string source, Diagnostic[] diagnostics) = Generate(new ModelItem(GeneratorHarness.Model(model)));
            Assert.Empty(diagnostics);
            Assert.Contains("public Batcher CreateBatcher(", source);
            Assert.Contains("base(model, \"" + dim + "\", options, outputs)", source);
            Assert.Contains("public sealed class ItemResult", source);
        }

        [Theory]
        [InlineData("digits")]    // fixed [1, 64]
        [InlineData("nonzero")]   // [n] -> [1, ?]: the output does not start with n
        [InlineData("types")]     // fixed shapes, strings
        [InlineData("tiny")]
        public void A_model_without_a_batch_dim_gets_no_batcher_and_no_diagnostic(string model)
        {
            (string source, Diagnostic[] diagnostics) = Generate(new ModelItem(GeneratorHarness.Model(model)));
            Assert.DoesNotContain(diagnostics, d => d.Id == "MSDK0008");
            Assert.DoesNotContain("CreateBatcher", source);
        }

        [Theory]
        [InlineData("digits", "batch", "input 'pixels' does not start with dim 'batch'")]
        [InlineData("nonzero", "n", "output 'indices' does not start with dim 'n'")]
        [InlineData("dynamic_batch", "rows", "input 'features' does not start with dim 'rows'")]
        public void A_BatchDim_that_cannot_batch_the_model_is_MSDK0008_at_the_file_saying_why(string model, string dim, string reason)
        {
            string path = GeneratorHarness.Model(model);
            (string source, Diagnostic[] diagnostics) = Generate(new ModelItem(path, BatchDim: dim));
            Diagnostic d = Assert.Single(diagnostics, x => x.Id == "MSDK0008");
            Assert.Equal(DiagnosticSeverity.Error, d.Severity);
            Assert.Equal(path, d.Location.GetLineSpan().Path);
            Assert.Contains("BatchDim '" + dim + "'", d.GetMessage());
            Assert.Contains(reason, d.GetMessage());
            Assert.DoesNotContain("CreateBatcher", source);
            Assert.Contains("public sealed partial class", source); // the rest of the class is still generated
        }

        [Fact]
        public void A_BatchDim_naming_the_dim_the_generator_would_find_changes_nothing()
        {
            string path = GeneratorHarness.Model("dynamic_batch");
            Assert.Equal(Generate(new ModelItem(path)).Source, Generate(new ModelItem(path, BatchDim: "batch")).Source);
        }
    }
}
