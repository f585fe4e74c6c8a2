using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Onnx;
using ModelSdk.TestSupport;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>
    /// A value from a corpus data file: a tensor (TensorProto), a sequence (SequenceProto) or an
    /// optional (OptionalProto, possibly empty). Which message a file holds follows from the graph's
    /// declared type of that input or output, not from the file.
    /// </summary>
    internal sealed class CorpusValue
    {
        private CorpusValue(OnnxValueType kind, TestTensor? tensor, IReadOnlyList<CorpusValue> elements, CorpusValue? contained)
        {
            Kind = kind;
            Tensor = tensor;
            Elements = elements;
            Contained = contained;
        }

        public OnnxValueType Kind { get; }

        /// <summary>The tensor, for <see cref="OnnxValueType.ONNX_TYPE_TENSOR"/>.</summary>
        public TestTensor? Tensor { get; }

        /// <summary>The elements, for <see cref="OnnxValueType.ONNX_TYPE_SEQUENCE"/>.</summary>
        public IReadOnlyList<CorpusValue> Elements { get; }

        /// <summary>The value, for <see cref="OnnxValueType.ONNX_TYPE_OPTIONAL"/>; null when the optional is empty.</summary>
        public CorpusValue? Contained { get; }

        public static CorpusValue Read(string path, OnnxValueType kind) => Read(File.ReadAllBytes(path), kind);

        /// <summary>A tensor as a corpus value.</summary>
        public static CorpusValue Of(TestTensor tensor) => new CorpusValue(OnnxValueType.ONNX_TYPE_TENSOR, tensor, Array.Empty<CorpusValue>(), null);

        private static CorpusValue Read(byte[] message, OnnxValueType kind) => kind switch
        {
            OnnxValueType.ONNX_TYPE_TENSOR => new CorpusValue(kind, OnnxTensorFile.Read(new MemoryStream(message)), Array.Empty<CorpusValue>(), null),
            OnnxValueType.ONNX_TYPE_SEQUENCE => ReadContainer(message, kind),
            OnnxValueType.ONNX_TYPE_OPTIONAL => ReadContainer(message, kind),
            _ => throw new NotSupportedException($"The test reads tensors, sequences and optionals, not {kind}."),
        };

        // SequenceProto and OptionalProto share their field numbers: elem_type 2, then the values by kind:
        // tensor 3, sparse tensor 4, sequence 5, map 6, optional 7 (repeated in a sequence, at most one in an optional).
        private static CorpusValue ReadContainer(byte[] message, OnnxValueType kind)
        {
            var values = new List<CorpusValue>();
            var reader = new ProtoReader(new MemoryStream(message));
            while (reader.TryReadTag(out int field, out int wire))
            {
                OnnxValueType? valueKind = field switch
                {
                    3 => OnnxValueType.ONNX_TYPE_TENSOR,
                    5 => OnnxValueType.ONNX_TYPE_SEQUENCE,
                    7 => OnnxValueType.ONNX_TYPE_OPTIONAL,
                    4 or 6 => throw new NotSupportedException($"The test does not read sparse tensors or maps (field {field} of a {kind})."),
                    _ => null,
                };
                if (valueKind is OnnxValueType elementKind)
                {
                    values.Add(Read(reader.ReadBytes(int.MaxValue, "a contained value"), elementKind));
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            return kind == OnnxValueType.ONNX_TYPE_SEQUENCE
                ? new CorpusValue(kind, null, values, null)
                : new CorpusValue(kind, null, Array.Empty<CorpusValue>(), values.Count > 0 ? values[0] : null);
        }
    }
}
