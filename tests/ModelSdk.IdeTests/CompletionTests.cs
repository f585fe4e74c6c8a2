using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using Microsoft.Build.Locator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Completion;
using Microsoft.CodeAnalysis.MSBuild;
using Xunit;

namespace ModelSdk.IdeTests
{
    /// <summary>
    /// A consumer project with an OnnxModel item, opened as an IDE opens it: MSBuildWorkspace runs the design-time build
    /// (the targets write the model's manifest), the generator runs in the workspace, and CompletionService answers
    /// what typing <c>result.</c> offers. No compile, no full build.
    /// </summary>
    public class CompletionTests : IDisposable
    {
        private static readonly string RepoRoot = Metadata("RepoRoot");
        private static readonly string Configuration = Metadata("Configuration");
        private readonly string _project = Directory.CreateTempSubdirectory("modelsdk-ide-").FullName;

        static CompletionTests()
        {
            if (!MSBuildLocator.IsRegistered)
            {
                MSBuildLocator.RegisterDefaults(); // the SDK that runs the tests
            }
        }

        private static string Metadata(string key) =>
            typeof(CompletionTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

        private const string UserCode = @"
namespace Consumer
{
    public static class Usage
    {
        public static long Classify(Digits model, float[] pixels)
        {
            var result = model.Run(pixels);
            return result.$$Label[0];
        }
    }
}";

        [Fact]
        public async Task Typing_result_dot_offers_every_output_with_its_docs_and_follows_a_replaced_model()
        {
            // Bounded: a design-time build that hangs fails the test instead of CI.
            await RunAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }

        private async Task RunAsync()
        {
            string model = Path.Combine(_project, "models", "classifier.onnx");
            Directory.CreateDirectory(Path.GetDirectoryName(model)!);
            File.Copy(Path.Combine(RepoRoot, "models", "digits.onnx"), model);
            string csproj = WriteProject();

            // The digits model: label int64 [1], probabilities float [1, 10].
            Completions completions = await CompleteAsync(csproj);
            Assert.Contains(completions.Items, i => i.DisplayText == "Label");
            Assert.Contains(completions.Items, i => i.DisplayText == "Probabilities");
            Assert.Contains(completions.Items, i => i.DisplayText == "ToOwned");
            string label = await completions.DescribeAsync("Label");
            Assert.Contains("label", label);       // the ONNX name,
            Assert.Contains("int64 [1]", label);   // type and shape, from the XML docs
            Assert.Contains("float [1, 10]", await completions.DescribeAsync("Probabilities"));

            // The file replaced by another model (two_outputs: small [1, 1], large [1024, 4096]); the IDE runs the design-time
            // build again, the manifest's hash changes, and the generated class follows: no compile, no rebuild.
            File.Copy(Path.Combine(RepoRoot, "models", "two_outputs.onnx"), model, overwrite: true);
            completions = await CompleteAsync(csproj);
            Assert.DoesNotContain(completions.Items, i => i.DisplayText == "Label");
            Assert.Contains(completions.Items, i => i.DisplayText == "Small");
            Assert.Contains("float [1024, 4096]", await completions.DescribeAsync("Large"));
        }

        /// <summary>What completion offers at <c>$$</c> of the user's code, and the document it was asked in (for descriptions).</summary>
        private sealed record Completions(Document Document, ImmutableArray<CompletionItem> Items)
        {
            public async Task<string> DescribeAsync(string displayText)
            {
                CompletionDescription? description = await CompletionService.GetService(Document)!.GetDescriptionAsync(Document, Items.Single(i => i.DisplayText == displayText));
                return description?.Text ?? string.Empty;
            }
        }

        private string WriteProject()
        {
            string generator = Path.Combine(RepoRoot, "generators", "ModelSdk.Generators", "bin", Configuration, "netstandard2.0", "ModelSdk.Generators.dll");
            string runtime = Path.Combine(RepoRoot, "src", "ModelSdk", "bin", Configuration, "net8.0", "ModelSdk.dll");
            string build = Path.Combine(RepoRoot, "generators", "ModelSdk.Generators", "build");
            Assert.True(File.Exists(generator), generator);
            Assert.True(File.Exists(runtime), runtime);
            string csproj = Path.Combine(_project, "Consumer.csproj");
            File.WriteAllText(csproj, $@"<Project Sdk=""Microsoft.NET.Sdk"">
  <Import Project=""{build}/ModelSdk.props"" />
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <RootNamespace>Consumer</RootNamespace>
  </PropertyGroup>
  <ItemGroup>
    <Reference Include=""ModelSdk""><HintPath>{runtime}</HintPath></Reference>
    <PackageReference Include=""Microsoft.ML.OnnxRuntime.Managed"" Version=""1.31.1"" />
    <PackageReference Include=""System.Numerics.Tensors"" Version=""10.0.0"" />
    <Analyzer Include=""{generator}"" />
    <OnnxModel Include=""models/classifier.onnx"" ClassName=""Digits"" />
  </ItemGroup>
  <Import Project=""{build}/ModelSdk.targets"" />
</Project>");
            File.WriteAllText(Path.Combine(_project, "Usage.cs"), UserCode.Replace("$$", string.Empty));
            return csproj;
        }

        /// <summary>Opens the project afresh (a design-time build, in a workspace of its own: what an IDE holds after it reloads the project).</summary>
        private static async Task<Completions> CompleteAsync(string csproj)
        {
            var workspace = MSBuildWorkspace.Create();
            Project project = await workspace.OpenProjectAsync(csproj);
            Assert.True(workspace.Diagnostics.All(d => d.Kind != WorkspaceDiagnosticKind.Failure),
                string.Join("\n", workspace.Diagnostics.Select(d => d.Message)));
            Document document = project.Documents.Single(d => d.Name == "Usage.cs");
            Compilation compilation = (await project.GetCompilationAsync())!;
            Assert.Contains(compilation.SyntaxTrees, t => t.FilePath.EndsWith(".g.cs", StringComparison.Ordinal)); // the generator ran
            int position = UserCode.IndexOf("$$", StringComparison.Ordinal);
            CompletionList list = await CompletionService.GetService(document)!.GetCompletionsAsync(document, position);
            return new Completions(document, list.ItemsList.ToImmutableArray());
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_project, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
