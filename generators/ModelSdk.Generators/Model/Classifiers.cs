using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelSdk.Generators.Model
{
    /// <summary>A classifier's helpers: the output they read, and the labels in the order of its scores.</summary>
    /// <param name="ScoresOutput">The ONNX name of the output the helpers read.</param>
    /// <param name="IsMap">True for a ZipMap output (seq(map(label, float))); false for a float tensor [N, classes] or [classes].</param>
    /// <param name="Int64Labels">True when the labels are int64 (a ZipMap's classlabels_int64s); else strings.</param>
    /// <param name="Labels">The labels as text (int64 ones in invariant digits).</param>
    /// <param name="Names">Display names of int64 labels (from a labels file or metadata), or empty.</param>
    /// <param name="Source">Where the labels came from, for the docs.</param>
    internal sealed record ClassifierSpec(string ScoresOutput, bool IsMap, bool Int64Labels, EquatableArray<string> Labels, EquatableArray<string> Names, string Source);

    /// <summary>
    /// Finds a model's classifier output and labels. The rules, in order: the <c>ScoresOutput</c> item metadata names
    /// the output; else the first graph output a ZipMap writes (its class labels); else, when the model has label names
    /// (a <c>Labels</c> file, or a <c>labels</c> metadata entry, comma- or newline-separated), the first float tensor output
    /// of rank 1 or 2 whose last dim is fixed to the number of names.
    /// </summary>
    internal static class Classifiers
    {
        public static ClassifierSpec? Find(ModelSpec spec, string? scoresOutput, string? labelsFileText, out string? problem)
        {
            problem = null;
            string[]? names = labelsFileText != null ? SplitLabels(labelsFileText) : MetadataLabels(spec);
            string source = labelsFileText != null ? "the Labels file" : "the model's labels metadata";
            IEnumerable<ValueSpec> candidates = spec.Outputs;
            if (scoresOutput != null)
            {
                candidates = spec.Outputs.Where(o => o.Name == scoresOutput).ToArray();
                if (!candidates.Any())
                {
                    problem = "ScoresOutput '" + scoresOutput + "' names no output of the model";
                    return null;
                }
            }

            foreach (ValueSpec output in candidates)
            {
                ZipMapSpec? zipMap = spec.ZipMaps.FirstOrDefault(z => z.Output == output.Name);
                if (zipMap != null && IsScoreMap(output.Type))
                {
                    bool ints = zipMap.Int64Labels.Count > 0;
                    string[] labels = ints
                        ? zipMap.Int64Labels.Select(l => l.ToString(CultureInfo.InvariantCulture)).ToArray()
                        : zipMap.StringLabels.ToArray();
                    string[] display = ints && names != null ? names : Array.Empty<string>();
                    if (display.Length > 0 && display.Length != labels.Length)
                    {
                        problem = source + " has " + display.Length + " labels but the ZipMap has " + labels.Length + " classes; the names were left out";
                        display = Array.Empty<string>();
                    }

                    return new ClassifierSpec(output.Name, true, ints, new EquatableArray<string>(labels), new EquatableArray<string>(display),
                        "the ZipMap's class labels" + (display.Length > 0 ? ", named by " + source : string.Empty));
                }

                if (names != null && names.Length > 0 && IsScoreTensor(output.Type, names.Length))
                {
                    return new ClassifierSpec(output.Name, false, false, new EquatableArray<string>(names), EquatableArray<string>.Empty, source);
                }
            }

            if (scoresOutput != null)
            {
                problem = "output '" + scoresOutput + "' is neither a ZipMap output nor a float tensor [N, classes] whose classes match " +
                          (names is null ? "any labels (give a Labels file or a labels metadata entry)" : names.Length + " labels");
            }

            return null;
        }

        private static string[]? MetadataLabels(ModelSpec spec)
        {
            KeyValue? entry = spec.Metadata.FirstOrDefault(m => m.Key == "labels");
            return entry is null ? null : SplitLabels(entry.Value);
        }

        /// <summary>One label per line, or comma-separated on one line; trimmed; blank lines dropped.</summary>
        internal static string[] SplitLabels(string text)
        {
            char separator = text.IndexOf('\n') >= 0 ? '\n' : ',';
            return text.Split(separator).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        }

        private static bool IsScoreMap(TypeSpec type) =>
            type.Kind == ValueKind.Sequence && type.Element is { Kind: ValueKind.Map } map &&
            map.KeyType is 7 or 8 && map.Element is { Kind: ValueKind.Tensor, ElementType: 1 };

        private static bool IsScoreTensor(TypeSpec type, int classes) =>
            type.Kind == ValueKind.Tensor && type.ElementType == 1 && type.HasShape && type.Dims.Count is 1 or 2 &&
            type.Dims[type.Dims.Count - 1].IsFixed && type.Dims[type.Dims.Count - 1].Value == classes;
    }
}
