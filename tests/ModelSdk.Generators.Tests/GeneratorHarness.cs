using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using ModelSdk.Generators;

namespace ModelSdk.Generators.Tests
{
    /// <summary>One OnnxModel item as the build would pass it: a manifest file plus item metadata.</summary>
    internal sealed record ModelItem(string ModelPath, string? ClassName = null, string? Namespace = null, string Stamp = "stamp-1", string? BatchDim = null, string? Rename = null,
        string? ScoresOutput = null, string? LabelsPath = null, string? LabelsText = null)
    {
        public string ManifestPath => "/obj/modelsdk/" + Path.GetFileName(ModelPath) + "." + ModelPath.GetHashCode().ToString("x") + OnnxModelGenerator.ManifestExtension;
    }

    /// <summary>Runs the generator the way the compiler does, on in-memory manifests, and compiles the result.</summary>
    internal static class GeneratorHarness
    {
        public static readonly string ModelsDir = Metadata("ModelsDir");

        public static readonly string GoldenDir = Metadata("GoldenDir");

        public static string Model(string name) => Path.Combine(ModelsDir, name + ".onnx");

        private static string Metadata(string key) =>
            typeof(GeneratorHarness).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

        /// <summary>.NET 10 reference assemblies plus the ModelSdk runtime and what its public API exposes.</summary>
        public static readonly ImmutableArray<MetadataReference> References = Basic.Reference.Assemblies.Net100.References.All
            .Cast<MetadataReference>()
            .Concat(new[]
            {
                MetadataReference.CreateFromFile(typeof(CompiledModel).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(System.Numerics.Tensors.Tensor).Assembly.Location),
            })
            .ToImmutableArray();

        public static CSharpParseOptions ParseOptions(LanguageVersion version = LanguageVersion.Latest) =>
            new CSharpParseOptions(version, DocumentationMode.Diagnose);

        /// <summary>A compilation like a user's project: nullable on, warnings are errors, XML docs checked.</summary>
        public static CSharpCompilation Compilation(string userCode = "", LanguageVersion version = LanguageVersion.Latest) =>
            CSharpCompilation.Create(
                "UserProject",
                new[] { CSharpSyntaxTree.ParseText(userCode, ParseOptions(version), path: "User.cs") },
                References,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary,
                    nullableContextOptions: NullableContextOptions.Enable,
                    generalDiagnosticOption: ReportDiagnostic.Error,
                    // The .NET SDK suppresses these assembly-version-unification notes by default; so do we.
                    specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic>
                    {
                        ["CS1701"] = ReportDiagnostic.Suppress,
                        ["CS1702"] = ReportDiagnostic.Suppress,
                    }));

        public static GeneratorDriver CreateDriver(IEnumerable<ModelItem> items, string rootNamespace = "UserProject", LanguageVersion version = LanguageVersion.Latest) =>
            CreateDriver(items, out _, rootNamespace, version);

        /// <summary>The manifest the build writes for <paramref name="item"/> (see build/ModelSdk.targets).</summary>
        public static AdditionalText Manifest(ModelItem item) => new InMemoryText(item.ManifestPath,
            "ModelSdk model manifest\npath=" + item.ModelPath + "\nsha256=" + item.Stamp + "\nclass=" + item.ClassName + "\nnamespace=" + item.Namespace +
            "\noutput=" + Path.GetFileName(item.ModelPath) + "\nbatchdim=" + item.BatchDim + "\nrename=" + item.Rename +
            "\nscores=" + item.ScoresOutput + "\nlabels=" + item.LabelsPath + "\n");

        public static GeneratorDriver CreateDriver(IEnumerable<ModelItem> items, out AdditionalText[] manifests, string rootNamespace = "UserProject", LanguageVersion version = LanguageVersion.Latest)
        {
            List<ModelItem> list = items.ToList();
            manifests = list.Select(Manifest).ToArray();

            // A Labels file is an AdditionalFiles item of its own (when it exists: LabelsText set).
            AdditionalText[] labelFiles = list.Where(i => i.LabelsPath != null && i.LabelsText != null)
                .Select(i => (AdditionalText)new InMemoryText(i.LabelsPath!, i.LabelsText!)).ToArray();
            return CSharpGeneratorDriver.Create(
                new[] { new OnnxModelGenerator().AsSourceGenerator() },
                manifests.Concat(labelFiles),
                ParseOptions(version),
                new OptionsProvider(list, rootNamespace),
                new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        }

        /// <summary>Runs the generator; returns the output compilation and every diagnostic (generator + compiler).</summary>
        public static (GeneratorDriverRunResult Run, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(
            IEnumerable<ModelItem> items, string userCode = "", LanguageVersion version = LanguageVersion.Latest, string rootNamespace = "UserProject")
        {
            GeneratorDriver driver = CreateDriver(items, rootNamespace, version);
            driver = driver.RunGeneratorsAndUpdateCompilation(Compilation(userCode, version), out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
            ImmutableArray<Diagnostic> all = generatorDiagnostics.AddRange(output.GetDiagnostics());
            return (driver.GetRunResult(), output, all);
        }

        public static string Describe(IEnumerable<Diagnostic> diagnostics) =>
            string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString()));

        internal sealed class InMemoryText : AdditionalText
        {
            private readonly SourceText _text;

            public InMemoryText(string path, string text)
            {
                Path = path;
                _text = SourceText.From(text);
            }

            public override string Path { get; }

            public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
        }

        /// <summary>The build properties the generated .editorconfig gives (item metadata travels in the manifests).</summary>
        private sealed class OptionsProvider : AnalyzerConfigOptionsProvider
        {
    
            public OptionsProvider(IEnumerable<ModelItem> items, string rootNamespace)
            {
                GlobalOptions = new Options(new Dictionary<string, string> { ["build_property.RootNamespace"] = rootNamespace });
            }

            public override AnalyzerConfigOptions GlobalOptions { get; }

            public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

            public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;
        }

        private sealed class Options : AnalyzerConfigOptions
        {
            public static readonly Options Empty = new Options(new Dictionary<string, string>());

            private readonly Dictionary<string, string> _values;

            public Options(Dictionary<string, string> values) => _values = values;

            public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
        }
    }
}
