using System;
using System.Collections.Generic;
using System.IO;
using ModelSdk.Onnx;

namespace ModelSdk
{
    /// <summary>
    /// Cuts a model down to the nodes some of its outputs need. ONNX Runtime runs every node of a graph
    /// whatever outputs a run asks for, so an output that is not wanted still costs its computation;
    /// a session of the pruned model does not compute it at all. Works on the protobuf bytes: fields it
    /// does not need to look into are copied as they are.
    /// </summary>
    internal static class ModelPruner
    {
        // Field numbers from onnx.proto.

        /// <summary>The model with only <paramref name="outputs"/> as graph outputs and only what they need.</summary>
        public static byte[] Prune(byte[] model, ICollection<string> outputs)
        {
            var reader = new ProtoReader(new MemoryStream(model, writable: false));
            var result = new MemoryStream(model.Length);
            long fieldStart = reader.Position;
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == ModelProto.Graph && wire == ProtoReader.WireLengthDelimited)
                {
                    long limit = reader.BeginMessage();
                    long graphStart = reader.Position;
                    reader.EndMessage(limit);
                    byte[] graph = PruneGraph(model.AsSpan((int)graphStart, (int)(reader.Position - graphStart)), outputs);
                    WriteTag(result, ModelProto.Graph);
                    WriteVarint(result, (ulong)graph.Length);
                    result.Write(graph);
                }
                else
                {
                    reader.SkipField(wire);
                    result.Write(model, (int)fieldStart, (int)(reader.Position - fieldStart));
                }

                fieldStart = reader.Position;
            }

            return result.ToArray();
        }

        private sealed class Node
        {
            public readonly List<string> Inputs = new List<string>();
            public readonly List<string> Outputs = new List<string>();
            public bool Needed;
        }

        private static byte[] PruneGraph(ReadOnlySpan<byte> graph, ICollection<string> outputs)
        {
            byte[] bytes = graph.ToArray();
            var fields = new List<(int Field, int Start, int End, string? Name, Node? Node)>();
            var reader = new ProtoReader(new MemoryStream(bytes, writable: false));
            long start = reader.Position;
            while (reader.TryReadTag(out int field, out int wire))
            {
                string? name = null;
                Node? node = null;
                if (wire == ProtoReader.WireLengthDelimited && field == GraphProto.Node)
                {
                    node = ReadNode(reader);
                }
                else if (wire == ProtoReader.WireLengthDelimited && (field == GraphProto.Output || field == GraphProto.Input))
                {
                    name = ReadStringField(reader, 1); // ValueInfoProto.name
                }
                else if (wire == ProtoReader.WireLengthDelimited && field == GraphProto.Initializer)
                {
                    name = ReadStringField(reader, 8); // TensorProto.name
                }
                else if (wire == ProtoReader.WireLengthDelimited && field == GraphProto.SparseInitializer)
                {
                    name = ReadSparseInitializerName(reader);
                }
                else
                {
                    reader.SkipField(wire);
                }

                fields.Add((field, (int)start, (int)reader.Position, name, node));
                start = reader.Position;
            }

            // Walk back from the kept outputs: a node is needed when something needed comes out of it. Inputs stay
            // inputs (the caller binds them all), and so do initializers that old models list as inputs.
            var needed = new HashSet<string>(outputs, StringComparer.Ordinal);
            foreach (var input in fields)
            {
                if (input.Field == GraphProto.Input && input.Name != null)
                {
                    needed.Add(input.Name);
                }
            }

            bool changed = true;
            while (changed)
            {
                changed = false;
                for (int i = fields.Count - 1; i >= 0; i--)
                {
                    if (fields[i].Node is Node node && !node.Needed && node.Outputs.Exists(needed.Contains))
                    {
                        node.Needed = true;
                        needed.UnionWith(node.Inputs);
                        changed = true;
                    }
                }
            }

            var pruned = new MemoryStream(bytes.Length);
            foreach ((int field, int fieldStart, int end, string? name, Node? node) in fields)
            {
                bool keep = field switch
                {
                    GraphProto.Node => node is null || node.Needed,
                    GraphProto.Output => name is null || outputs.Contains(name),
                    GraphProto.Initializer or GraphProto.SparseInitializer => name is null || needed.Contains(name),
                    _ => true,
                };
                if (keep)
                {
                    pruned.Write(bytes, fieldStart, end - fieldStart);
                }
            }

            return pruned.ToArray();
        }

        private static Node ReadNode(ProtoReader reader)
        {
            var node = new Node();
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (wire == ProtoReader.WireLengthDelimited && field == NodeProto.Input)
                {
                    node.Inputs.Add(reader.ReadString(int.MaxValue, "a node input"));
                }
                else if (wire == ProtoReader.WireLengthDelimited && field == NodeProto.Output)
                {
                    node.Outputs.Add(reader.ReadString(int.MaxValue, "a node output"));
                }
                else if (wire == ProtoReader.WireLengthDelimited && field == NodeProto.Attribute)
                {
                    // A subgraph (If, Loop, Scan) may read any value of the outer graph: count every name
                    // its nodes read as read by this node (too many is harmless: more is kept).
                    CollectSubgraphInputs(reader, node.Inputs);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return node;
        }

        private static void CollectSubgraphInputs(ProtoReader reader, List<string> inputs)
        {
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (wire == ProtoReader.WireLengthDelimited && (field == AttributeProto.Graph || field == AttributeProto.Graphs))
                {
                    long graphLimit = reader.BeginMessage();
                    while (reader.TryReadTag(out int graphField, out int graphWire))
                    {
                        if (graphWire == ProtoReader.WireLengthDelimited && graphField == GraphProto.Node)
                        {
                            inputs.AddRange(ReadNode(reader).Inputs);
                        }
                        else
                        {
                            reader.SkipField(graphWire);
                        }
                    }

                    reader.EndMessage(graphLimit);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
        }

        private static string? ReadStringField(ProtoReader reader, int wanted)
        {
            string? value = null;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == wanted && wire == ProtoReader.WireLengthDelimited)
                {
                    value = reader.ReadString(int.MaxValue, "a name");
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return value;
        }

        // SparseTensorProto.values (field 1) is a TensorProto whose name (field 8) is the initializer's.
        private static string? ReadSparseInitializerName(ProtoReader reader)
        {
            string? value = null;
            long limit = reader.BeginMessage();
            while (reader.TryReadTag(out int field, out int wire))
            {
                if (field == 1 && wire == ProtoReader.WireLengthDelimited)
                {
                    value = ReadStringField(reader, 8);
                }
                else
                {
                    reader.SkipField(wire);
                }
            }

            reader.EndMessage(limit);
            return value;
        }

        private static void WriteTag(Stream stream, int field) => WriteVarint(stream, ((ulong)field << 3) | ProtoReader.WireLengthDelimited);

        private static void WriteVarint(Stream stream, ulong value)
        {
            while (value >= 0x80)
            {
                stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            stream.WriteByte((byte)value);
        }
    }
}
