using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using ModelSdk.Onnx;

namespace ModelSdk.TestSupport
{
    /// <summary>A tensor read from an ONNX TensorProto file (the format of ONNX's backend test data).</summary>
    public sealed class TestTensor
    {
        public TestTensor(string name, OnnxElementType type, long[] dims, byte[] bytes, string[]? strings)
        {
            Name = name;
            ElementType = type;
            Dims = dims;
            Bytes = bytes;
            Strings = strings;
        }

        public string Name { get; }

        public OnnxElementType ElementType { get; }

        public long[] Dims { get; }

        /// <summary>Elements packed little-endian, as ONNX Runtime holds them (empty for strings).</summary>
        public byte[] Bytes { get; }

        public string[]? Strings { get; }

        public long ElementCount
        {
            get
            {
                long n = 1;
                foreach (long d in Dims)
                {
                    n *= d;
                }

                return n;
            }
        }

        public nint[] Shape => Array.ConvertAll(Dims, d => (nint)d);

        public T[] As<T>()
            where T : unmanaged => MemoryMarshal.Cast<byte, T>(Bytes).ToArray();

        public InputArg ToInputArg() =>
            ElementType == OnnxElementType.String ? InputArg.FromStrings(Strings, Shape) : InputArg.FromBytes(ElementType, Bytes, Shape);
    }

    /// <summary>Reads TensorProto files: dims 1, data_type 2, float_data 4, int32_data 5, string_data 6, int64_data 7, name 8, raw_data 9, double_data 10, uint64_data 11.</summary>
    public static class OnnxTensorFile
    {
        public static TestTensor Read(string path)
        {
            using FileStream stream = File.OpenRead(path);
            return Read(stream);
        }

        public static TestTensor Read(Stream stream)
        {
            var reader = new ProtoReader(stream);
            var dims = new List<long>();
            var floats = new List<float>();
            var doubles = new List<double>();
            var int32s = new List<long>();
            var int64s = new List<long>();
            var uint64s = new List<ulong>();
            var strings = new List<string>();
            byte[]? raw = null;
            int dataType = 0;
            string name = string.Empty;

            while (reader.TryReadTag(out int field, out int wire))
            {
                switch (field)
                {
                    case 1:
                        ReadVarints(reader, wire, v => dims.Add((long)v));
                        break;
                    case 2:
                        dataType = (int)reader.ReadVarint();
                        break;
                    case 4:
                        ReadFixed32(reader, wire, bits => floats.Add(BitConverter.Int32BitsToSingle(bits)));
                        break;
                    case 5:
                        ReadVarints(reader, wire, v => int32s.Add(unchecked((long)v)));
                        break;
                    case 6:
                        strings.Add(reader.ReadString(int.MaxValue, "string_data"));
                        break;
                    case 7:
                        ReadVarints(reader, wire, v => int64s.Add(unchecked((long)v)));
                        break;
                    case 8:
                        name = reader.ReadString(int.MaxValue, "name");
                        break;
                    case 9:
                        raw = reader.ReadBytes(int.MaxValue, "raw_data");
                        break;
                    case 10:
                        ReadFixed64(reader, wire, bits => doubles.Add(BitConverter.Int64BitsToDouble(bits)));
                        break;
                    case 11:
                        ReadVarints(reader, wire, v => uint64s.Add(v));
                        break;
                    default:
                        reader.SkipField(wire);
                        break;
                }
            }

            var type = (OnnxElementType)dataType;
            long count = 1;
            foreach (long d in dims)
            {
                count *= d;
            }

            if (type == OnnxElementType.String)
            {
                return new TestTensor(name, type, dims.ToArray(), Array.Empty<byte>(), strings.ToArray());
            }

            int size = OnnxElementTypes.SizeOf(type);
            byte[] bytes = raw ?? new byte[count * size];
            if (raw is null)
            {
                Span<byte> span = bytes;
                for (long i = 0; i < count; i++)
                {
                    Span<byte> at = span.Slice((int)(i * size), size);
                    switch (type)
                    {
                        case OnnxElementType.Float:
                            MemoryMarshal.Write(at, floats[(int)i]);
                            break;
                        case OnnxElementType.Double:
                            MemoryMarshal.Write(at, doubles[(int)i]);
                            break;
                        case OnnxElementType.Int64:
                            MemoryMarshal.Write(at, int64s[(int)i]);
                            break;
                        case OnnxElementType.UInt64:
                        case OnnxElementType.UInt32:
                            WriteLow(at, uint64s[(int)i], size);
                            break;
                        default:
                            // int32_data holds int32, int16, int8, uint16, uint8, bool, float16 and bfloat16 (as bits).
                            WriteLow(at, unchecked((ulong)int32s[(int)i]), size);
                            break;
                    }
                }
            }

            return new TestTensor(name, type, dims.ToArray(), bytes, null);
        }

        private static void WriteLow(Span<byte> at, ulong value, int size)
        {
            for (int b = 0; b < size; b++)
            {
                at[b] = (byte)(value >> (8 * b));
            }
        }

        private static void ReadVarints(ProtoReader reader, int wire, Action<ulong> add)
        {
            if (wire == ProtoReader.WireLengthDelimited)
            {
                long limit = reader.BeginMessage();
                while (!reader.AtEnd)
                {
                    add(reader.ReadVarint());
                }

                reader.EndMessage(limit);
            }
            else
            {
                add(reader.ReadVarint());
            }
        }

        private static void ReadFixed32(ProtoReader reader, int wire, Action<int> add)
        {
            if (wire == ProtoReader.WireLengthDelimited)
            {
                long limit = reader.BeginMessage();
                while (!reader.AtEnd)
                {
                    add(reader.ReadFixed32());
                }

                reader.EndMessage(limit);
            }
            else
            {
                add(reader.ReadFixed32());
            }
        }

        private static void ReadFixed64(ProtoReader reader, int wire, Action<long> add)
        {
            if (wire == ProtoReader.WireLengthDelimited)
            {
                long limit = reader.BeginMessage();
                while (!reader.AtEnd)
                {
                    add(reader.ReadFixed64());
                }

                reader.EndMessage(limit);
            }
            else
            {
                add(reader.ReadFixed64());
            }
        }
    }
}
