using System.IO;
using System.Text;

namespace ModelSdk.Generators.Tests
{
    /// <summary>Writes protobuf wire format by hand, to build models the tests need (huge, hostile, malformed).</summary>
    internal sealed class ProtoWriter
    {
        private readonly Stream _stream;

        public ProtoWriter(Stream stream) => _stream = stream;

        public ProtoWriter Varint(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _stream.WriteByte((byte)value);
            return this;
        }

        public ProtoWriter Tag(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

        public ProtoWriter Int(int field, long value) => Tag(field, 0).Varint((ulong)value);

        public ProtoWriter Bytes(int field, byte[] bytes)
        {
            Tag(field, 2).Varint((ulong)bytes.Length);
            _stream.Write(bytes);
            return this;
        }

        public ProtoWriter String(int field, string text) => Bytes(field, Encoding.UTF8.GetBytes(text));

        public ProtoWriter Message(int field, System.Action<ProtoWriter> body)
        {
            var inner = new MemoryStream();
            body(new ProtoWriter(inner));
            return Bytes(field, inner.ToArray());
        }

        /// <summary>A ValueInfoProto of a float tensor with the given dims (ints fixed, strings symbolic).</summary>
        public static void FloatTensorValue(ProtoWriter w, string name, params object[] dims) =>
            w.String(1, name).Message(2, type => type.Message(1, tensor =>
            {
                tensor.Int(1, 1);
                tensor.Message(2, shape =>
                {
                    foreach (object dim in dims)
                    {
                        shape.Message(1, d =>
                        {
                            if (dim is string param)
                            {
                                d.String(2, param);
                            }
                            else
                            {
                                d.Int(1, System.Convert.ToInt64(dim));
                            }
                        });
                    }
                });
            }));
    }
}
