using System;

namespace ModelSdk.Generators.Model
{
    // Everything the pipeline caches is an equatable record made of strings, numbers and
    // EquatableArrays: no Roslyn symbols, no Locations, so unchanged inputs stay Cached.

    /// <summary>One OnnxModel item as MSBuild described it (through its manifest file).</summary>
    internal sealed record ModelRequest(
        string ModelPath,
        string FileName,
        string OutputRelativePath,
        string? ClassName,
        string? Namespace,
        string RootNamespace,
        string? BatchDim,
        string? Rename,
        string ContentHash,
        string Stamp,
        string? ScoresOutput = null,
        string? LabelsPath = null)
    {
        /// <summary>What reading the model depends on: its path and its content (not the item's names).</summary>
        public ModelFile File => new ModelFile(ModelPath, FileName, ContentHash);
    }

    /// <summary>A model file as the reader sees it: two equal ones read the same, so a ClassName change reads nothing again.</summary>
    internal sealed record ModelFile(string ModelPath, string FileName, string ContentHash);

    /// <summary>The kind of value an ONNX graph input or output carries (TypeProto's oneof).</summary>
    internal enum ValueKind
    {
        Unknown,
        Tensor,
        SparseTensor,
        Sequence,
        Map,
        Optional,
        Opaque,
    }

    /// <summary>One dimension: fixed (<see cref="Value"/> &gt;= 0), symbolic (<see cref="Param"/>) or unknown.</summary>
    internal sealed record DimSpec(long Value, string? Param)
    {
        public bool IsFixed => Value >= 0;
    }

    /// <summary>The type of a graph input or output.</summary>
    /// <param name="Kind">Tensor, sequence, map, ...</param>
    /// <param name="ElementType">ONNX TensorProto.DataType of a tensor's elements (0 when unknown or not a tensor).</param>
    /// <param name="HasShape">False when the model gives no shape (rank unknown).</param>
    /// <param name="Dims">The dimensions when <paramref name="HasShape"/>.</param>
    /// <param name="Display">ONNX-style text of the type, e.g. <c>seq(tensor(float))</c>.</param>
    /// <param name="KeyType">A map's key element type (0 otherwise).</param>
    /// <param name="Element">A sequence's element type, a map's value type, or an optional's contained type.</param>
    internal sealed record TypeSpec(ValueKind Kind, int ElementType, bool HasShape, EquatableArray<DimSpec> Dims, string Display, int KeyType = 0, TypeSpec? Element = null);

    internal sealed record ValueSpec(string Name, string? DocString, TypeSpec Type);

    internal sealed record KeyValue(string Key, string Value);

    internal sealed record OpsetSpec(string Domain, long Version);

    /// <summary>A ZipMap node of the main graph (ai.onnx.ml): the output it writes and its class labels (int64 or string).</summary>
    internal sealed record ZipMapSpec(string Output, EquatableArray<long> Int64Labels, EquatableArray<string> StringLabels);

    /// <summary>The model metadata the generator needs, read from the ModelProto.</summary>
    internal sealed record ModelSpec(
        long IrVersion,
        string? ProducerName,
        string? ProducerVersion,
        string? Domain,
        long ModelVersion,
        string? DocString,
        string? GraphName,
        string? GraphDocString,
        EquatableArray<OpsetSpec> Opsets,
        EquatableArray<KeyValue> Metadata,
        EquatableArray<ValueSpec> Inputs,
        EquatableArray<ValueSpec> Outputs,
        EquatableArray<ZipMapSpec> ZipMaps = default);

    /// <summary>
    /// A diagnostic kept as plain data (its descriptor, the file, the message's arguments: no Location); turned into a
    /// Roslyn Diagnostic only when reported.
    /// </summary>
    internal sealed record DiagnosticInfo(Microsoft.CodeAnalysis.DiagnosticDescriptor Descriptor, string FilePath, EquatableArray<string> Args)
    {
        public string Id => Descriptor.Id;

        public static DiagnosticInfo Create(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, string filePath, params string[] args) =>
            new DiagnosticInfo(descriptor, filePath, new EquatableArray<string>(args));
    }

    /// <summary>The result of reading one model file: a spec, or the error that prevented it.</summary>
    internal sealed record ParsedModel(ModelFile File, ModelSpec? Spec, DiagnosticInfo? Error);

    /// <summary>Every parsed model by path (the reader's results, joined back to the items that name them).</summary>
    internal sealed class ParsedModels
    {
        private readonly System.Collections.Generic.Dictionary<string, ParsedModel> _byPath = new System.Collections.Generic.Dictionary<string, ParsedModel>(StringComparer.Ordinal);

        public ParsedModels(System.Collections.Generic.IEnumerable<ParsedModel> all)
        {
            foreach (ParsedModel parsed in all)
            {
                _byPath[parsed.File.ModelPath] = parsed;
            }
        }

        /// <summary>The parsed model for <paramref name="request"/>'s file, or null (never expected: then the caller reads it).</summary>
        public ParsedModel? For(ModelRequest request) =>
            _byPath.TryGetValue(request.ModelPath, out ParsedModel? parsed) && parsed.File == request.File ? parsed : null;
    }

    /// <summary>A model ready to emit: its spec plus the C# names chosen for it, and its batch dim if it can be batched.</summary>
    internal sealed record ModelClass(ModelRequest Request, ModelSpec Spec, string ClassName, string Namespace, string? BatchDim, ClassifierSpec? Classifier = null)
    {
        public string FullName => Namespace.Length == 0 ? ClassName : Namespace + "." + ClassName;
    }

    /// <summary>A text file an OnnxModel item names (its Labels file): the path and its text, null when it can't be read.</summary>
    internal sealed record LabelFile(string Path, string? Text);

    /// <summary>What the generator does for one OnnxModel item: a class to emit (or none) and diagnostics to report.</summary>
    internal sealed record GenerationUnit(string ModelPath, ModelClass? Class, EquatableArray<DiagnosticInfo> Diagnostics);
}
