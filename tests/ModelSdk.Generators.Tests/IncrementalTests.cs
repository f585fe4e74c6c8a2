using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>The pipeline re-reads a model only when its content (the manifest's hash) changes: never for C# edits or a new class name.</summary>
    public class IncrementalTests
    {
        private static readonly ModelItem Digits = new ModelItem(GeneratorHarness.Model("digits"));
        private static readonly ModelItem Tiny = new ModelItem(GeneratorHarness.Model("tiny"));

        private static IncrementalStepRunReason[] Reasons(GeneratorDriver driver, string step) =>
            driver.GetRunResult().Results.Single().TrackedSteps[step]
                .SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();

        [Fact]
        public void Editing_an_unrelated_cs_file_reparses_no_model()
        {
            CSharpCompilation compilation = GeneratorHarness.Compilation("class A { }");
            GeneratorDriver driver = GeneratorHarness.CreateDriver(new[] { Digits, Tiny }).RunGenerators(compilation);
            Assert.All(Reasons(driver, "ParsedModels"), r => Assert.Equal(IncrementalStepRunReason.New, r));

            SyntaxTree old = compilation.SyntaxTrees.Single();
            CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText("class A { int x; }", GeneratorHarness.ParseOptions()));
            driver = driver.RunGenerators(edited);

            foreach (string step in new[] { "ModelRequests", "ModelFiles", "ParsedModels", "NamedModels", "ClassClaims" })
            {
                IncrementalStepRunReason[] reasons = Reasons(driver, step);
                Assert.NotEmpty(reasons);
                Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
            }

            Assert.All(driver.GetRunResult().Results.Single().TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
                o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        }

        [Fact]
        public void A_changed_model_is_reread_and_only_that_one()
        {
            CSharpCompilation compilation = GeneratorHarness.Compilation();
            GeneratorDriver driver = GeneratorHarness.CreateDriver(new[] { Digits, Tiny }, out AdditionalText[] manifests).RunGenerators(compilation);

            // The build rewrites a model's manifest when the model file's timestamp changes.
            driver = driver.ReplaceAdditionalText(manifests[0], GeneratorHarness.Manifest(Digits with { Stamp = "later" }));
            driver = driver.RunGenerators(compilation);

            IncrementalStepRunReason[] parsed = Reasons(driver, "ParsedModels");
            Assert.Equal(2, parsed.Length);
            Assert.Single(parsed, r => r == IncrementalStepRunReason.Cached);
            Assert.Single(parsed, r => r == IncrementalStepRunReason.Modified);
        }

        [Fact]
        public void Changing_only_the_ClassName_re_runs_the_naming_and_reads_no_model()
        {
            CSharpCompilation compilation = GeneratorHarness.Compilation();
            GeneratorDriver driver = GeneratorHarness.CreateDriver(new[] { Digits, Tiny }, out AdditionalText[] manifests).RunGenerators(compilation);

            driver = driver.ReplaceAdditionalText(manifests[0], GeneratorHarness.Manifest(Digits with { ClassName = "Renamed" }));
            driver = driver.RunGenerators(compilation);

            Assert.All(Reasons(driver, "ParsedModels"), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"ParsedModels: {r}"));
            IncrementalStepRunReason[] named = Reasons(driver, "NamedModels");
            Assert.Single(named, r => r == IncrementalStepRunReason.Modified);
            Assert.Contains(driver.GetRunResult().GeneratedTrees, t => t.FilePath.EndsWith("UserProject.Renamed.g.cs", System.StringComparison.Ordinal));
        }
    }
}
