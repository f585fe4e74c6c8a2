using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Onnx;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>
    /// What kind of value (tensor, sequence, optional, ...) each graph input and output of a model file
    /// is, read from the protobuf: an account of the models that does not come from the generator.
    /// </summary>
    internal sealed class ModelValueKinds
    {
        private ModelValueKinds(Dictionary<string, OnnxValueType> inputs, Dictionary<string, OnnxValueType> outputs)
        {
            Inputs = inputs;
            Outputs = outputs;
        }

        public IReadOnlyDictionary<string, OnnxValueType> Inputs { get; }

        public IReadOnlyDictionary<string, OnnxValueType> Outputs { get; }

        public bool AllTensors => Inputs.Values.Concat(Outputs.Values).All(kind => kind == OnnxValueType.ONNX_TYPE_TENSOR);

        // ModelProto.graph 7; GraphProto.input 11, output 12; ValueInfoProto.name 1, type 2.
        public static ModelValueKinds Read(string modelPath)
        {
            var inputs = new Dictionary<string, OnnxValueType>();
            var outputs = new Dictionary<string, OnnxValueType>();
            using FileStream stream = File.OpenRead(modelPath);
            var reader = new ProtoReader(stream);
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field != 7)
                {
                    reader.SkipField(wire);
                    continue;
                }

                long graphEnd = reader.BeginMessage();
                while (reader.TryReadTag(out int graphField, out int graphWire))
                {
                    if (graphField is 11 or 12)
                    {
                        (string name, OnnxValueType kind) = ReadValueInfo(reader);
                        (graphField == 11 ? inputs : outputs)[name] = kind;
                    }
                    else
                    {
                        reader.SkipField(graphWire);
                    }
                }

                reader.EndMessage(graphEnd);
            }

            return new ModelValueKinds(inputs, outputs);
        }

        private static (string Name, OnnxValueType Kind) ReadValueInfo(ProtoReader reader)
        {
            string name = string.Empty;
            OnnxValueType kind = OnnxValueType.ONNX_TYPE_UNKNOWN;
            long end = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == 1)
                {
                    name = reader.ReadString(int.MaxValue, "a value name");
                }
                else if (field == 2)
                {
                    kind = ReadTypeKind(reader);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(end);
            return (name, kind);
        }

        // TypeProto's oneof: tensor_type 1, sequence_type 4, map_type 5, opaque_type 7, sparse_tensor_type 8, optional_type 9.
        private static OnnxValueType ReadTypeKind(ProtoReader reader)
        {
            OnnxValueType kind = OnnxValueType.ONNX_TYPE_UNKNOWN;
            long end = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                kind = field switch
                {
                    1 => OnnxValueType.ONNX_TYPE_TENSOR,
                    4 => OnnxValueType.ONNX_TYPE_SEQUENCE,
                    5 => OnnxValueType.ONNX_TYPE_MAP,
                    7 => OnnxValueType.ONNX_TYPE_OPAQUE,
                    8 => OnnxValueType.ONNX_TYPE_SPARSETENSOR,
                    9 => OnnxValueType.ONNX_TYPE_OPTIONAL,
                    _ => kind,
                };
                reader.SkipField(wire);
            }

            reader.EndMessage(end);
            return kind;
        }
    }
}
