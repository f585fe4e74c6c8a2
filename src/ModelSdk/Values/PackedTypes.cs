using System;
using System.Globalization;

namespace ModelSdk
{
    /// <summary>
    /// Two ONNX int4 elements in one byte, as ONNX stores them: element 2i in the low nibble, 2i+1 in the high one.
    /// A tensor of n int4 elements is (n + 1) / 2 of these (the last high nibble unused when n is odd); its shape
    /// counts elements. Build data with <see cref="Pack"/> and read it with <see cref="Unpack"/>.
    /// </summary>
    public readonly struct Int4x2 : IEquatable<Int4x2>
    {
        private Int4x2(byte raw) => RawValue = raw;

        /// <summary>Two elements, each -8..7.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An element is outside -8..7.</exception>
        public Int4x2(int low, int high)
            : this((byte)((Check(low, nameof(low)) & 0x0F) | ((Check(high, nameof(high)) & 0x0F) << 4)))
        {
        }

        /// <summary>The byte as stored.</summary>
        public byte RawValue { get; }

        /// <summary>Element 2i (sign-extended from the low nibble).</summary>
        public int Low => (sbyte)(RawValue << 4) >> 4;

        /// <summary>Element 2i+1 (sign-extended from the high nibble).</summary>
        public int High => (sbyte)RawValue >> 4;

        /// <summary>The pair with these bits.</summary>
        public static Int4x2 FromRaw(byte raw) => new Int4x2(raw);

        /// <summary>A float as int4 the way ONNX's Cast does: rounded to nearest even, then clamped to -8..7.</summary>
        public static int FromFloat(float value) => float.IsNaN(value) ? 0 : (int)Math.Clamp(Math.Round((double)value, MidpointRounding.ToEven), -8, 7);

        /// <summary>Packs elements (each -8..7) two per byte; an odd count leaves the last high nibble 0.</summary>
        public static Int4x2[] Pack(ReadOnlySpan<int> values) => Nibbles.Pack(values, static (low, high) => new Int4x2(low, high));

        /// <summary>The first <paramref name="count"/> elements of packed data.</summary>
        public static int[] Unpack(ReadOnlySpan<Int4x2> pairs, int count) => Nibbles.Unpack(pairs, count, static (pair, high) => high ? pair.High : pair.Low);

        /// <inheritdoc/>
        public bool Equals(Int4x2 other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Int4x2 other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <summary>e.g. <c>(-3, 7)</c>.</summary>
        public override string ToString() => "(" + Low.ToString(CultureInfo.InvariantCulture) + ", " + High.ToString(CultureInfo.InvariantCulture) + ")";

        private static int Check(int value, string name) =>
            value is >= -8 and <= 7 ? value : throw new ArgumentOutOfRangeException(name, value, "An int4 element is -8..7.");
    }

    /// <summary>Two ONNX uint4 elements in one byte (element 2i in the low nibble); see <see cref="Int4x2"/> for the layout.</summary>
    public readonly struct UInt4x2 : IEquatable<UInt4x2>
    {
        private UInt4x2(byte raw) => RawValue = raw;

        /// <summary>Two elements, each 0..15.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An element is outside 0..15.</exception>
        public UInt4x2(int low, int high)
            : this((byte)(Check(low, nameof(low)) | (Check(high, nameof(high)) << 4)))
        {
        }

        /// <summary>The byte as stored.</summary>
        public byte RawValue { get; }

        /// <summary>Element 2i.</summary>
        public int Low => RawValue & 0x0F;

        /// <summary>Element 2i+1.</summary>
        public int High => RawValue >> 4;

        /// <summary>The pair with these bits.</summary>
        public static UInt4x2 FromRaw(byte raw) => new UInt4x2(raw);

        /// <summary>A float as uint4 the way ONNX's Cast does: rounded to nearest even, then clamped to 0..15.</summary>
        public static int FromFloat(float value) => float.IsNaN(value) ? 0 : (int)Math.Clamp(Math.Round((double)value, MidpointRounding.ToEven), 0, 15);

        /// <summary>Packs elements (each 0..15) two per byte; an odd count leaves the last high nibble 0.</summary>
        public static UInt4x2[] Pack(ReadOnlySpan<int> values) => Nibbles.Pack(values, static (low, high) => new UInt4x2(low, high));

        /// <summary>The first <paramref name="count"/> elements of packed data.</summary>
        public static int[] Unpack(ReadOnlySpan<UInt4x2> pairs, int count) => Nibbles.Unpack(pairs, count, static (pair, high) => high ? pair.High : pair.Low);

        /// <inheritdoc/>
        public bool Equals(UInt4x2 other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is UInt4x2 other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <summary>e.g. <c>(3, 15)</c>.</summary>
        public override string ToString() => "(" + Low.ToString(CultureInfo.InvariantCulture) + ", " + High.ToString(CultureInfo.InvariantCulture) + ")";

        private static int Check(int value, string name) =>
            value is >= 0 and <= 15 ? value : throw new ArgumentOutOfRangeException(name, value, "A uint4 element is 0..15.");
    }

    /// <summary>
    /// Two ONNX float4 E2M1 elements in one byte (element 2i in the low nibble; see <see cref="Int4x2"/> for the layout):
    /// 1 sign, 2 exponent (bias 1), 1 mantissa bit; values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no infinities or NaN.
    /// </summary>
    public readonly struct Float4E2M1x2 : IEquatable<Float4E2M1x2>
    {
        private Float4E2M1x2(byte raw) => RawValue = raw;

        /// <summary>Two elements, each rounded to the nearest float4 value (ties to even, saturating at ±6).</summary>
        public Float4E2M1x2(float low, float high)
            : this((byte)(MiniFloatFormat.E2M1.FromFloat(low, saturate: true) | (MiniFloatFormat.E2M1.FromFloat(high, saturate: true) << 4)))
        {
        }

        /// <summary>The byte as stored.</summary>
        public byte RawValue { get; }

        /// <summary>Element 2i.</summary>
        public float Low => MiniFloatFormat.E2M1.ToFloat(RawValue & 0x0F);

        /// <summary>Element 2i+1.</summary>
        public float High => MiniFloatFormat.E2M1.ToFloat(RawValue >> 4);

        /// <summary>The pair with these bits.</summary>
        public static Float4E2M1x2 FromRaw(byte raw) => new Float4E2M1x2(raw);

        /// <summary>Packs floats two per byte, each rounded to nearest even and saturated; an odd count leaves the last high nibble 0.</summary>
        public static Float4E2M1x2[] Pack(ReadOnlySpan<float> values) => Nibbles.Pack(values, static (low, high) => new Float4E2M1x2(low, high));

        /// <summary>The first <paramref name="count"/> elements of packed data.</summary>
        public static float[] Unpack(ReadOnlySpan<Float4E2M1x2> pairs, int count) => Nibbles.Unpack(pairs, count, static (pair, high) => high ? pair.High : pair.Low);

        /// <inheritdoc/>
        public bool Equals(Float4E2M1x2 other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Float4E2M1x2 other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <summary>e.g. <c>(1.5, -6)</c>.</summary>
        public override string ToString() => "(" + Low.ToString(CultureInfo.InvariantCulture) + ", " + High.ToString(CultureInfo.InvariantCulture) + ")";
    }

    /// <summary>The one packing loop of the 4-bit pair types: element 2i in the low nibble of pair i, 2i+1 in the high one.</summary>
    internal static class Nibbles
    {
        public static TPair[] Pack<TValue, TPair>(ReadOnlySpan<TValue> values, Func<TValue, TValue, TPair> pair)
            where TValue : struct
        {
            var pairs = new TPair[(values.Length + 1) / 2];
            for (int i = 0; i < pairs.Length; i++)
            {
                pairs[i] = pair(values[2 * i], 2 * i + 1 < values.Length ? values[2 * i + 1] : default); // an odd count: the last high nibble 0
            }

            return pairs;
        }

        public static TValue[] Unpack<TPair, TValue>(ReadOnlySpan<TPair> pairs, int count, Func<TPair, bool, TValue> nibble)
        {
            if (count < 0 || (count + 1) / 2 > pairs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count), count, $"{pairs.Length} pairs hold at most {2 * pairs.Length} elements.");
            }

            var values = new TValue[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = nibble(pairs[i / 2], (i & 1) != 0);
            }

            return values;
        }
    }
}
