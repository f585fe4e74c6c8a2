using System;
using System.IO;
using System.Text;

namespace ModelSdk.Onnx
{
    /// <summary>Raised for any malformed, truncated or out-of-bounds protobuf input.</summary>
    internal sealed class ModelFormatException : Exception
    {
        public ModelFormatException(string message)
            : base(message)
        {
        }
    }

    /// <summary>
    /// A minimal protobuf wire-format reader over a seekable stream. It reads only what it is asked
    /// for and skips everything else by length (seeking), so the weights of a multi-gigabyte model
    /// are never read. Every length is checked against the enclosing message, so a corrupt length
    /// fails fast instead of allocating or reading past the end.
    /// </summary>
    internal sealed class ProtoReader
    {
        public const int WireVarint = 0;
        public const int WireFixed64 = 1;
        public const int WireLengthDelimited = 2;
        public const int WireFixed32 = 5;

        private readonly Stream _stream;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private long _bufferStart;   // stream position of _buffer[0]
        private int _bufferPos;
        private int _bufferLength;
        private long _limit;         // end of the message being read

        // Budgets: whatever a file claims, reading its metadata keeps memory bounded.
        private const long MaxMaterializedBytes = 64L * 1024 * 1024;
        private const long MaxItems = 2_000_000;
        private long _materializedBytes;
        private long _items;

        public ProtoReader(Stream stream)
        {
            _stream = stream;
            _bufferStart = stream.Position;
            _limit = stream.CanSeek ? stream.Length : long.MaxValue;
        }

        public long Position => _bufferStart + _bufferPos;

        public bool AtEnd => Position >= _limit;

        /// <summary>Reads a field tag; returns false at the end of the current message.</summary>
        public bool TryReadTag(out int field, out int wireType)
        {
            field = 0;
            wireType = 0;
            if (AtEnd || !EnsureBuffered())
            {
                return false;
            }

            ulong tag = ReadVarint();
            wireType = (int)(tag & 7);
            ulong number = tag >> 3;
            if (number == 0 || number > int.MaxValue)
            {
                throw new ModelFormatException($"invalid protobuf field number {number} at byte {Position}");
            }

            field = (int)number;
            return true;
        }

        public ulong ReadVarint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 70; shift += 7)
            {
                byte b = ReadByte();
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }

            throw new ModelFormatException($"malformed varint at byte {Position}");
        }

        public long ReadInt64() => unchecked((long)ReadVarint());

        /// <summary>Reads the length prefix of a length-delimited field, checked against the enclosing message.</summary>
        public long ReadLength()
        {
            ulong length = ReadVarint();
            if (length > (ulong)(_limit - Position))
            {
                throw new ModelFormatException(
                    $"a field at byte {Position} claims {length} bytes but only {_limit - Position} remain (file truncated or corrupt)");
            }

            return (long)length;
        }

        /// <summary>Starts reading an embedded message; returns the limit to restore with <see cref="EndMessage"/>.</summary>
        public long BeginMessage()
        {
            long length = ReadLength();
            long previous = _limit;
            _limit = Position + length;
            return previous;
        }

        public void EndMessage(long previousLimit)
        {
            Skip(_limit - Position);
            _limit = previousLimit;
        }

        /// <summary>Reads a UTF-8 string field; strings longer than <paramref name="maxBytes"/> are an error.</summary>
        public string ReadString(int maxBytes, string what) => Encoding.UTF8.GetString(ReadBytes(maxBytes, what));

        /// <summary>
        /// Reads a UTF-8 text field (a doc string, a metadata value) of any length: the first <paramref name="keepBytes"/>
        /// bytes are kept and the rest skipped, with a note saying how long it was. Long prose is no reason to refuse a model.
        /// </summary>
        public string ReadText(int keepBytes)
        {
            long length = ReadLength();
            if (length <= keepBytes)
            {
                return Encoding.UTF8.GetString(ReadKnownLength(length));
            }

            string kept = Encoding.UTF8.GetString(ReadKnownLength(keepBytes)).TrimEnd('\uFFFD'); // a character cut in two
            SkipChecked(length - keepBytes);
            return kept + " ... (" + length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes, cut to the first " +
                   keepBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";
        }

        /// <summary>Reads a length-delimited bytes field; longer than <paramref name="maxBytes"/> is an error.</summary>
        public byte[] ReadBytes(int maxBytes, string what)
        {
            long length = ReadLength();
            if (length > maxBytes)
            {
                throw new ModelFormatException($"{what} is {length} bytes long; at most {maxBytes} are supported");
            }

            return ReadKnownLength(length);
        }

        private byte[] ReadKnownLength(long length)
        {
            _materializedBytes += length;
            if (_materializedBytes > MaxMaterializedBytes)
            {
                throw new ModelFormatException($"the names and doc strings add up to more than {MaxMaterializedBytes / (1024 * 1024)} MB");
            }

            byte[] bytes = new byte[length];
            int read = 0;
            while (read < length)
            {
                if (!EnsureBuffered())
                {
                    throw new ModelFormatException("unexpected end of file");
                }

                int n = (int)Math.Min(length - read, _bufferLength - _bufferPos);
                Buffer.BlockCopy(_buffer, _bufferPos, bytes, read, n);
                _bufferPos += n;
                read += n;
            }

            return bytes;
        }

        /// <summary>Counts one more value kept in memory (an input, a dim, ...); too many is an error.</summary>
        public void Charge(string what)
        {
            if (++_items > MaxItems)
            {
                throw new ModelFormatException($"the model declares more than {MaxItems} {what} and similar entries");
            }
        }

        public int ReadFixed32()
        {
            uint value = 0;
            for (int i = 0; i < 4; i++)
            {
                value |= (uint)ReadByte() << (8 * i);
            }

            return unchecked((int)value);
        }

        public long ReadFixed64()
        {
            ulong value = 0;
            for (int i = 0; i < 8; i++)
            {
                value |= (ulong)ReadByte() << (8 * i);
            }

            return unchecked((long)value);
        }

        /// <summary>Skips the value of a field of the given wire type.</summary>
        public void SkipField(int wireType)
        {
            switch (wireType)
            {
                case WireVarint:
                    ReadVarint();
                    break;
                case WireFixed64:
                    SkipChecked(8);
                    break;
                case WireLengthDelimited:
                    Skip(ReadLength());
                    break;
                case WireFixed32:
                    SkipChecked(4);
                    break;
                default:
                    throw new ModelFormatException($"unsupported protobuf wire type {wireType} at byte {Position}");
            }
        }

        /// <summary>Checks that a field has the wire type the schema says; a mismatch means a corrupt file.</summary>
        public static void Expect(int wireType, int expected, string field)
        {
            if (wireType != expected)
            {
                throw new ModelFormatException($"field {field} has wire type {wireType}, expected {expected}");
            }
        }

        private void SkipChecked(long count)
        {
            if (count > _limit - Position)
            {
                throw new ModelFormatException("unexpected end of message");
            }

            Skip(count);
        }

        private void Skip(long count)
        {
            long buffered = _bufferLength - _bufferPos;
            if (count <= buffered)
            {
                _bufferPos += (int)count;
                return;
            }

            long target = Position + count;
            if (_stream.CanSeek)
            {
                if (target > _stream.Length)
                {
                    throw new ModelFormatException("unexpected end of file");
                }

                _stream.Seek(target, SeekOrigin.Begin);
                _bufferStart = target;
                _bufferPos = 0;
                _bufferLength = 0;
                return;
            }

            while (Position < target)
            {
                if (!EnsureBuffered())
                {
                    throw new ModelFormatException("unexpected end of file");
                }

                _bufferPos += (int)Math.Min(target - Position, _bufferLength - _bufferPos);
            }
        }

        private byte ReadByte()
        {
            if (Position >= _limit || !EnsureBuffered())
            {
                throw new ModelFormatException("unexpected end of message");
            }

            return _buffer[_bufferPos++];
        }

        private bool EnsureBuffered()
        {
            if (_bufferPos < _bufferLength)
            {
                return true;
            }

            _bufferStart += _bufferLength;
            _bufferPos = 0;
            _bufferLength = _stream.Read(_buffer, 0, _buffer.Length);
            return _bufferLength > 0;
        }
    }
}
