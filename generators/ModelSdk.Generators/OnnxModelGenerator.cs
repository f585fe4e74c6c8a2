using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using ModelSdk.Generators.Emitting;
using ModelSdk.Generators.Model;
using ModelSdk.Generators.Reading;

namespace ModelSdk.Generators
{
    /// <summary>
    /// Generates a typed class for every <c>OnnxModel</c> item of the project.
    /// </summary>
    /// <remarks>
    /// MSBuild (build/ModelSdk.targets) writes a small text manifest per model and passes it as an
    /// AdditionalFiles item: the model's path, its content hash and the item's metadata (class name,
    /// namespace, link, batch dim), one line each. The binary model itself is never an AdditionalFiles
    /// item, so no compiler, IDE or other analyzer reads it as text. When the model's content changes,
    /// the manifest changes, and only then is the model read again (by path).
    /// </remarks>
    [Generator(LanguageNames.CSharp)]
    public sealed class OnnxModelGenerator : IIncrementalGenerator
    {
        /// <summary>Extension of the manifest files the build writes for each model.</summary>
        public const string ManifestExtension = ".onnxmodel";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValuesProvider<ModelRequest> requests = context.AdditionalTextsProvider
                .Where(static text => text.Path.EndsWith(ManifestExtension, StringComparison.OrdinalIgnoreCase))
                .Combine(context.AnalyzerConfigOptionsProvider)
                .Select(static (pair, ct) => ReadManifest(pair.Left, pair.Right, ct))
                .Where(static request => request != null)
                .Select(static (request, _) => request!)
                .WithTrackingName(TrackingNames.Requests);

            // Reading depends on the file alone (path and content hash): a change to the item's names re-runs only the naming.
            IncrementalValueProvider<ParsedModels> parsed = requests
                .Select(static (request, _) => request.File)
                .WithTrackingName(TrackingNames.Files)
                .Select(static (file, ct) => OnnxModelReader.Read(file, ct))
                .WithTrackingName(TrackingNames.Parsed)
                .Collect()
                .Select(static (all, _) => new ParsedModels(all));

            // Labels files (item metadata Labels) are AdditionalFiles too; only the ones a manifest names are read.
            IncrementalValueProvider<EquatableArray<string>> labelPaths = requests
                .Where(static request => request.LabelsPath != null)
                .Select(static (request, _) => request.LabelsPath!)
                .Collect()
                .Select(static (all, _) => new EquatableArray<string>(all.ToArray()));
            IncrementalValueProvider<EquatableArray<LabelFile>> labelFiles = context.AdditionalTextsProvider
                .Where(static text => !text.Path.EndsWith(ManifestExtension, StringComparison.OrdinalIgnoreCase))
                .Combine(labelPaths)
                .Where(static pair => pair.Right.Contains(pair.Left.Path))
                .Select(static (pair, ct) => new LabelFile(pair.Left.Path, pair.Left.GetText(ct)?.ToString()))
                .Collect()
                .Select(static (all, _) => new EquatableArray<LabelFile>(all.ToArray()));

            IncrementalValuesProvider<GenerationUnit> units = requests
                .Combine(parsed)
                .Combine(labelFiles)
                .Select(static (pair, ct) => Naming.Resolve(
                    pair.Left.Left,
                    pair.Left.Right.For(pair.Left.Left) ?? OnnxModelReader.Read(pair.Left.Left.File, ct),
                    pair.Right.FirstOrDefault(f => f.Path == pair.Left.Left.LabelsPath)))
                .WithTrackingName(TrackingNames.Named);

            // Every class name with the model claiming it, to report two models mapping to one class.
            IncrementalValueProvider<EquatableArray<ClassClaim>> claims = units
                .Where(static unit => unit.Class != null)
                .Select(static (unit, _) => new ClassClaim(unit.Class!.FullName, unit.ModelPath, unit.Class.Request.FileName))
                .Collect()
                .Select(static (all, _) => new EquatableArray<ClassClaim>(all.ToArray()))
                .WithTrackingName(TrackingNames.Claims);

            context.RegisterSourceOutput(units.Combine(claims), static (spc, pair) => Emit(spc, pair.Left, pair.Right));
        }

        private static ModelRequest? ReadManifest(AdditionalText manifest, AnalyzerConfigOptionsProvider options, CancellationToken ct)
        {
            // One "key=value" line each (see build/ModelSdk.targets); values run to the end of their line, whatever they hold.
            string text = manifest.GetText(ct)?.ToString() ?? string.Empty;
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string line in text.Split('\n'))
            {
                int equals = line.IndexOf('=');
                if (equals > 0)
                {
                    values[line.Substring(0, equals)] = line.Substring(equals + 1).TrimEnd('\r');
                }
            }

            string? modelPath = Value(values, "path");
            if (modelPath is null)
            {
                return null;
            }

            string fileName = System.IO.Path.GetFileName(modelPath);
            options.GlobalOptions.TryGetValue("build_property.RootNamespace", out string? rootNamespace);

            // The whole text is the stamp: it changes when the model's content (its hash) or its item does, and only then.
            return new ModelRequest(
                modelPath,
                fileName,
                (Value(values, "output") ?? fileName).Replace('\\', '/'),
                Value(values, "class")?.Trim(),
                Value(values, "namespace")?.Trim(),
                rootNamespace ?? string.Empty,
                Value(values, "batchdim")?.Trim(),
                Value(values, "rename"),
                Value(values, "sha256") ?? text,
                text,
                Value(values, "scores")?.Trim(),
                Value(values, "labels")?.Trim());
        }

        private static string? Value(Dictionary<string, string> values, string key) =>
            values.TryGetValue(key, out string? value) && !string.IsNullOrWhiteSpace(value) ? value : null;

        private static void Emit(SourceProductionContext context, GenerationUnit unit, EquatableArray<ClassClaim> claims)
        {
            foreach (DiagnosticInfo diagnostic in unit.Diagnostics)
            {
                context.ReportDiagnostic(Diagnostics.ToDiagnostic(diagnostic));
            }

            ModelClass? model = unit.Class;
            if (model is null)
            {
                return;
            }

            // When several models claim one class, the first by path keeps it; the others get an error instead of code.
            ClassClaim? winner = null;
            foreach (ClassClaim claim in claims)
            {
                if (claim.FullName == model.FullName && (winner is null || string.CompareOrdinal(claim.ModelPath, winner.ModelPath) < 0))
                {
                    winner = claim;
                }
            }

            if (winner != null && winner.ModelPath != unit.ModelPath)
            {
                context.ReportDiagnostic(Diagnostics.ToDiagnostic(DiagnosticInfo.Create(
                    Diagnostics.DuplicateClassName, unit.ModelPath, model.FullName, winner.FileName, model.Request.FileName)));
                return;
            }

            // Hint names must differ whatever the case (file systems and Roslyn compare them so); classes may not.
            bool caseTwin = claims.Any(c => c.FullName != model.FullName && string.Equals(c.FullName, model.FullName, StringComparison.OrdinalIgnoreCase));
            context.AddSource(HintName(model.FullName, caseTwin), SourceText.From(ModelEmitter.Emit(model), Encoding.UTF8));
        }

        /// <summary>An ASCII file name for the generated source, unique per class (a hash of the exact name is added when needed: other characters, or a class differing only in case).</summary>
        internal static string HintName(string fullName, bool caseTwin = false)
        {
            var builder = new StringBuilder(fullName.Length);
            bool changed = false;
            foreach (char c in fullName)
            {
                bool safe = c < 128 && (char.IsLetterOrDigit(c) || c == '.' || c == '_');
                builder.Append(safe ? c : '_');
                changed |= !safe;
            }

            if (changed || caseTwin)
            {
                builder.Append('_').Append(StableHash(fullName).ToString("x8", CultureInfo.InvariantCulture));
            }

            return builder.Append(".g.cs").ToString();
        }

        private static uint StableHash(string text)
        {
            uint hash = 2166136261;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }

        internal sealed record ClassClaim(string FullName, string ModelPath, string FileName);
    }

    /// <summary>Names of the pipeline steps, for tests that check what re-ran.</summary>
    internal static class TrackingNames
    {
        public const string Requests = "ModelRequests";
        public const string Files = "ModelFiles";
        public const string Parsed = "ParsedModels";
        public const string Named = "NamedModels";
        public const string Claims = "ClassClaims";
    }
}
