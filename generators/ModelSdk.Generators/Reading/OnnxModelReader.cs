using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ModelSdk.Generators.Model;

using ModelSdk.Onnx;

namespace ModelSdk.Generators.Reading
{
    /// <summary>
    /// Reads the metadata of an ONNX ModelProto: the fields the generator needs and nothing else.
    /// Graph nodes and initializer data are skipped by length, so the cost does not depend on the
    /// size of the weights.
    /// </summary>
    internal static class OnnxModelReader
    {
        // Bounds that keep a hostile file from costing unbounded memory or recursion.
        private const int MaxNameBytes = 64 * 1024;
        private const int MaxDocBytes = 1024 * 1024; // kept of each doc string or metadata value (longer ones are cut, not refused)
        private const int MaxValues = 100_000;
        private const int MaxDims = 1_000;
        private const int MaxTypeDepth = 32;
        private const int MaxLabels = 100_000; // class labels kept per ZipMap (more are ignored, not refused)

        // Field numbers from onnx.proto (ONNX IR).
        /// <summary>Reads a model file; any failure becomes an MSDK diagnostic, never an exception.</summary>
        public static ParsedModel Read(ModelFile request, System.Threading.CancellationToken cancellationToken)
        {
            try
            {
#pragma warning disable RS1035 // An .onnx file is binary: Roslyn's AdditionalText can only decode text, so read it by path.
                using FileStream stream = new FileStream(request.ModelPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
#pragma warning restore RS1035
                return new ParsedModel(request, Read(stream, cancellationToken), null);
            }
            catch (FileNotFoundException)
            {
                return Fail(request, Diagnostics.ModelNotFound);
            }
            catch (DirectoryNotFoundException)
            {
                return Fail(request, Diagnostics.ModelNotFound);
            }
            catch (ModelFormatException ex)
            {
                return Fail(request, Diagnostics.InvalidModel, ex.Message);
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception ex)
            {
                // I/O errors, access denied, or a bug of ours: still a diagnostic, never a generator crash.
                return Fail(request, Diagnostics.InvalidModel, ex.GetType().Name + ": " + ex.Message);
            }
        }

        private static ParsedModel Fail(ModelFile request, Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, params string[] args)
        {
            var allArgs = new string[args.Length + 1];
            allArgs[0] = request.FileName;
            Array.Copy(args, 0, allArgs, 1, args.Length);
            return new ParsedModel(request, null, DiagnosticInfo.Create(descriptor, request.ModelPath, allArgs));
        }

        /// <summary>Reads the ModelProto from a seekable stream positioned at its start.</summary>
        public static ModelSpec Read(Stream stream, System.Threading.CancellationToken cancellationToken = default)
        {
            if (stream.CanSeek && stream.Length == 0)
            {
                throw new ModelFormatException("the file is empty");
            }

            var reader = new ProtoReader(stream);
            long irVersion = 0, modelVersion = 0;
            string? producerName = null, producerVersion = null, domain = null, docString = null;
            var opsets = new List<OpsetSpec>();
            var metadata = new List<KeyValue>();
            var graph = new GraphInfo();
            bool sawGraph = false;

            while (reader.TryReadTag(out int field, out int wire))
            {
                cancellationToken.ThrowIfCancellationRequested();
                switch (field)
                {
                    case ModelProto.IrVersion:
                        ProtoReader.Expect(wire, ProtoReader.WireVarint, "ModelProto.ir_version");
                        irVersion = reader.ReadInt64();
                        break;
                    case ModelProto.ProducerName:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.producer_name");
                        producerName = reader.ReadString(MaxNameBytes, "producer_name");
                        break;
                    case ModelProto.ProducerVersion:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.producer_version");
                        producerVersion = reader.ReadString(MaxNameBytes, "producer_version");
                        break;
                    case ModelProto.Domain:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.domain");
                        domain = reader.ReadString(MaxNameBytes, "domain");
                        break;
                    case ModelProto.ModelVersion:
                        ProtoReader.Expect(wire, ProtoReader.WireVarint, "ModelProto.model_version");
                        modelVersion = reader.ReadInt64();
                        break;
                    case ModelProto.DocString:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.doc_string");
                        docString = reader.ReadText(MaxDocBytes);
                        break;
                    case ModelProto.Graph:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.graph");
                        ReadGraph(reader, graph, cancellationToken);
                        sawGraph = true;
                        break;
                    case ModelProto.OpsetImport:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.opset_import");
                        reader.Charge("opset imports");
                        opsets.Add(ReadOpset(reader));
                        break;
                    case ModelProto.MetadataProps:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "ModelProto.metadata_props");
                        if (metadata.Count >= MaxValues)
                        {
                            throw new ModelFormatException("too many metadata_props");
                        }

                        metadata.Add(ReadStringPair(reader));
                        break;
                    default:
                        reader.SkipField(wire);
                        break;
                }
            }

            if (!sawGraph)
            {
                throw new ModelFormatException("it is not an ONNX model (no graph found)");
            }

            if (graph.Outputs.Count == 0)
            {
                throw new ModelFormatException("the graph declares no outputs");
            }

            // Old models (IR < 4) list initializers among the inputs, as defaults: they are not inputs a caller must give.
            var inputs = new List<ValueSpec>();
            foreach (ValueSpec input in graph.Inputs)
            {
                if (!graph.Initializers.Contains(input.Name))
                {
                    inputs.Add(input);
                }
            }

            return new ModelSpec(
                irVersion,
                producerName,
                producerVersion,
                domain,
                modelVersion,
                docString,
                graph.Name,
                graph.DocString,
                new EquatableArray<OpsetSpec>(opsets),
                new EquatableArray<KeyValue>(metadata),
                new EquatableArray<ValueSpec>(inputs),
                new EquatableArray<ValueSpec>(graph.Outputs),
                new EquatableArray<ZipMapSpec>(graph.ZipMaps));
        }

        private sealed class GraphInfo
        {
            public string? Name;
            public string? DocString;
            public readonly List<ValueSpec> Inputs = new List<ValueSpec>();
            public readonly List<ValueSpec> Outputs = new List<ValueSpec>();
            public readonly HashSet<string> Initializers = new HashSet<string>(StringComparer.Ordinal);
            public readonly List<ZipMapSpec> ZipMaps = new List<ZipMapSpec>();
        }

        private static void ReadGraph(ProtoReader reader, GraphInfo graph, System.Threading.CancellationToken cancellationToken)
        {
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                cancellationToken.ThrowIfCancellationRequested();
                switch (field)
                {
                    case GraphProto.Name:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.name");
                        graph.Name = reader.ReadString(MaxNameBytes, "the graph name");
                        break;
                    case GraphProto.DocString:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.doc_string");
                        graph.DocString = reader.ReadText(MaxDocBytes);
                        break;
                    case GraphProto.Initializer:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.initializer");
                        reader.Charge("initializers");
                        AddInitializerName(graph, ReadTensorName(reader));
                        break;
                    case GraphProto.SparseInitializer:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.sparse_initializer");
                        AddInitializerName(graph, ReadSparseTensorName(reader));
                        break;
                    case GraphProto.Input:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.input");
                        reader.Charge("inputs");
                        AddValue(graph.Inputs, ReadValueInfo(reader), "inputs");
                        break;
                    case GraphProto.Output:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.output");
                        reader.Charge("outputs");
                        AddValue(graph.Outputs, ReadValueInfo(reader), "outputs");
                        break;
                    case GraphProto.Node:
                        ProtoReader.Expect(wire, ProtoReader.WireLengthDelimited, "GraphProto.node");
                        if (ReadZipMap(reader) is ZipMapSpec zipMap && graph.ZipMaps.Count < MaxValues)
                        {
                            graph.ZipMaps.Add(zipMap);
                        }

                        break;
                    default:
                        reader.SkipField(wire); // value_info, initializer data ...
                        break;
                }
            }

            reader.EndMessage(limit);
        }

        /// <summary>A node, kept only when it is a ZipMap (its labels name a classifier's classes); other nodes are skipped.</summary>
        private static ZipMapSpec? ReadZipMap(ProtoReader reader)
        {
            string? opType = null, domain = null, output = null;
            var ints = new List<long>();
            var strings = new List<string>();
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == NodeProto.OpType && wire == ProtoReader.WireLengthDelimited)
                {
                    opType = reader.ReadString(MaxNameBytes, "an op_type");
                }
                else if (field == NodeProto.Domain && wire == ProtoReader.WireLengthDelimited)
                {
                    domain = reader.ReadString(MaxNameBytes, "a node domain");
                }
                else if (field == NodeProto.Output && wire == ProtoReader.WireLengthDelimited && output is null)
                {
                    output = reader.ReadString(MaxNameBytes, "a node output");
                }
                else if (field == NodeProto.Attribute && wire == ProtoReader.WireLengthDelimited && opType is null or "ZipMap")
                {
                    ReadLabelsAttribute(reader, ints, strings);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return opType == "ZipMap" && domain == "ai.onnx.ml" && output != null && (ints.Count > 0 || strings.Count > 0)
                ? new ZipMapSpec(output, new EquatableArray<long>(ints.ToArray()), new EquatableArray<string>(strings.ToArray()))
                : null;
        }

        // AttributeProto: name 1, ints 8 (packed or not), strings 9. Only classlabels_int64s / classlabels_strings are kept.
        private static void ReadLabelsAttribute(ProtoReader reader, List<long> ints, List<string> strings)
        {
            string? name = null;
            var attributeInts = new List<long>();
            var attributeStrings = new List<string>();
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == AttributeProto.Name && wire == ProtoReader.WireLengthDelimited)
                {
                    name = reader.ReadString(MaxNameBytes, "an attribute name");
                }
                else if (field == AttributeProto.Ints && wire == ProtoReader.WireVarint && attributeInts.Count < MaxLabels)
                {
                    attributeInts.Add(reader.ReadInt64());
                }
                else if (field == AttributeProto.Ints && wire == ProtoReader.WireLengthDelimited)
                {
                    long end = reader.BeginMessage();
                    while (!reader.AtEnd && attributeInts.Count < MaxLabels)
                    {
                        attributeInts.Add(reader.ReadInt64());
                    }

                    reader.EndMessage(end);
                }
                else if (field == AttributeProto.Strings && wire == ProtoReader.WireLengthDelimited && attributeStrings.Count < MaxLabels)
                {
                    attributeStrings.Add(reader.ReadString(MaxNameBytes, "a class label"));
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            if (name == "classlabels_int64s")
            {
                ints.AddRange(attributeInts);
            }
            else if (name == "classlabels_strings")
            {
                strings.AddRange(attributeStrings);
            }
        }

        private static void AddInitializerName(GraphInfo graph, string? name)
        {
            if (name != null)
            {
                if (graph.Initializers.Count >= 10 * MaxValues)
                {
                    throw new ModelFormatException("too many initializers");
                }

                graph.Initializers.Add(name);
            }
        }

        private static void AddValue(List<ValueSpec> values, ValueSpec value, string what)
        {
            if (values.Count >= MaxValues)
            {
                throw new ModelFormatException($"the graph declares more than {MaxValues} {what}");
            }

            values.Add(value);
        }

        // TensorProto.name is field 8; the data fields (raw_data 9, float_data 4, ...) are skipped by length.
        private static string? ReadTensorName(ProtoReader reader)
        {
            string? name = null;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == TensorProto.Name && wire == ProtoReader.WireLengthDelimited)
                {
                    name = reader.ReadString(MaxNameBytes, "an initializer name");
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return name;
        }

        // SparseTensorProto.values (field 1) is a TensorProto whose name is the initializer's name.
        private static string? ReadSparseTensorName(ProtoReader reader)
        {
            string? name = null;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == SparseTensorProto.Values && wire == ProtoReader.WireLengthDelimited)
                {
                    name = ReadTensorName(reader);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return name;
        }

        private static OpsetSpec ReadOpset(ProtoReader reader)
        {
            string domain = string.Empty;
            long version = 0;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == OperatorSetIdProto.Domain && wire == ProtoReader.WireLengthDelimited)
                {
                    domain = reader.ReadString(MaxNameBytes, "an opset domain");
                }
                else if (field == OperatorSetIdProto.Version && wire == ProtoReader.WireVarint)
                {
                    version = reader.ReadInt64();
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return new OpsetSpec(domain, version);
        }

        private static KeyValue ReadStringPair(ProtoReader reader)
        {
            string key = string.Empty, value = string.Empty;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == StringStringEntryProto.Key && wire == ProtoReader.WireLengthDelimited)
                {
                    key = reader.ReadString(MaxNameBytes, "a metadata key");
                }
                else if (field == StringStringEntryProto.Value && wire == ProtoReader.WireLengthDelimited)
                {
                    value = reader.ReadText(MaxDocBytes);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return new KeyValue(key, value);
        }

        // ValueInfoProto: name 1, type 2, doc_string 3.
        private static ValueSpec ReadValueInfo(ProtoReader reader)
        {
            string name = string.Empty;
            string? doc = null;
            TypeSpec? type = null;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == ValueInfoProto.Name && wire == ProtoReader.WireLengthDelimited)
                {
                    name = reader.ReadString(MaxNameBytes, "a value name");
                }
                else if (field == ValueInfoProto.Type && wire == ProtoReader.WireLengthDelimited)
                {
                    type = ReadType(reader, depth: 0);
                }
                else if (field == ValueInfoProto.DocString && wire == ProtoReader.WireLengthDelimited)
                {
                    doc = reader.ReadText(MaxDocBytes);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return new ValueSpec(name, doc, type ?? UnknownType);
        }

        private static readonly TypeSpec UnknownType =
            new TypeSpec(ValueKind.Unknown, 0, false, EquatableArray<DimSpec>.Empty, "unknown");

        // TypeProto: tensor_type 1, sequence_type 4, map_type 5, opaque_type 7, sparse_tensor_type 8, optional_type 9.
        private static TypeSpec ReadType(ProtoReader reader, int depth)
        {
            if (depth > MaxTypeDepth)
            {
                throw new ModelFormatException($"a type is nested more than {MaxTypeDepth} levels deep");
            }

            TypeSpec result = UnknownType;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (wire != ProtoReader.WireLengthDelimited)
                {
                    reader.SkipField(wire);
                    continue;
                }

                switch (field)
                {
                    case TypeProto.TensorType:
                        result = ReadTensorType(reader, ValueKind.Tensor);
                        break;
                    case TypeProto.SparseTensorType:
                        result = ReadTensorType(reader, ValueKind.SparseTensor);
                        break;
                    case TypeProto.SequenceType:
                    {
                        TypeSpec element = ReadSingleElementType(reader, depth);
                        result = new TypeSpec(ValueKind.Sequence, 0, false, EquatableArray<DimSpec>.Empty, "seq(" + element.Display + ")", Element: element);
                        break;
                    }

                    case TypeProto.OptionalType:
                    {
                        TypeSpec element = ReadSingleElementType(reader, depth);
                        result = new TypeSpec(ValueKind.Optional, 0, false, EquatableArray<DimSpec>.Empty, "optional(" + element.Display + ")", Element: element);
                        break;
                    }

                    case TypeProto.MapType:
                        result = ReadMapType(reader, depth);
                        break;
                    case TypeProto.OpaqueType:
                        reader.SkipField(wire);
                        result = new TypeSpec(ValueKind.Opaque, 0, false, EquatableArray<DimSpec>.Empty, "opaque");
                        break;
                    default:
                        reader.SkipField(wire);
                        break;
                }
            }

            reader.EndMessage(limit);
            return result;
        }

        // Sequence and Optional: elem_type (1) is a TypeProto.
        private static TypeSpec ReadSingleElementType(ProtoReader reader, int depth)
        {
            TypeSpec element = UnknownType;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == TypeProto.ElementType && wire == ProtoReader.WireLengthDelimited)
                {
                    element = ReadType(reader, depth + 1);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return element;
        }

        // Map: key_type 1 (an element type), value_type 2 (a TypeProto).
        private static TypeSpec ReadMapType(ProtoReader reader, int depth)
        {
            int keyType = 0;
            TypeSpec value = UnknownType;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == TypeProto.KeyType && wire == ProtoReader.WireVarint)
                {
                    keyType = (int)reader.ReadInt64();
                }
                else if (field == TypeProto.ValueType && wire == ProtoReader.WireLengthDelimited)
                {
                    value = ReadType(reader, depth + 1);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return new TypeSpec(ValueKind.Map, 0, false, EquatableArray<DimSpec>.Empty,
                "map(" + ElementTypes.OnnxName(keyType) + "," + value.Display + ")", keyType, value);
        }

        // Tensor / SparseTensor: elem_type 1, shape 2 (TensorShapeProto: dim 1).
        private static TypeSpec ReadTensorType(ProtoReader reader, ValueKind kind)
        {
            int elementType = 0;
            bool hasShape = false;
            var dims = new List<DimSpec>();
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == TypeProto.ElemType && wire == ProtoReader.WireVarint)
                {
                    elementType = (int)reader.ReadInt64();
                }
                else if (field == TypeProto.Shape && wire == ProtoReader.WireLengthDelimited)
                {
                    hasShape = true;
                    ReadShape(reader, dims);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            string name = kind == ValueKind.SparseTensor ? "sparse_tensor" : "tensor";
            return new TypeSpec(kind, elementType, hasShape, new EquatableArray<DimSpec>(dims),
                name + "(" + ElementTypes.OnnxName(elementType) + ")");
        }

        private static void ReadShape(ProtoReader reader, List<DimSpec> dims)
        {
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == TensorShapeProto.Dim && wire == ProtoReader.WireLengthDelimited)
                {
                    if (dims.Count >= MaxDims)
                    {
                        throw new ModelFormatException($"a shape has more than {MaxDims} dimensions");
                    }

                    reader.Charge("dimensions");
                    dims.Add(ReadDim(reader));
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
        }

        // Dimension: dim_value 1, dim_param 2, denotation 3.
        private static DimSpec ReadDim(ProtoReader reader)
        {
            long value = -1;
            string? param = null;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == TensorShapeProto.DimValue && wire == ProtoReader.WireVarint)
                {
                    value = reader.ReadInt64();
                    param = null;
                }
                else if (field == TensorShapeProto.DimParam && wire == ProtoReader.WireLengthDelimited)
                {
                    param = reader.ReadString(MaxNameBytes, "a dim_param");
                    value = -1;
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);

            // A negative dim_value is not a valid size: treat it as unknown rather than trusting it.
            if (value < 0)
            {
                value = -1;
            }

            return new DimSpec(value, string.IsNullOrEmpty(param) ? null : param);
        }
    }
}
