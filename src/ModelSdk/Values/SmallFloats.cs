using System;
using System.Globalization;

namespace ModelSdk
{
    /// <summary>
    /// ONNX's 8- and 4-bit floating-point formats (onnx.ai "Float stored in 8 bits" / "in 4 bits"): a table of every
    /// value, and conversion from float by round-to-nearest-even on that table, as ONNX's Cast does.
    /// </summary>
    internal sealed class MiniFloatFormat
    {
        private readonly float[] _values;   // every code's value (NaN where the code is NaN)
        private readonly int _maxCode;      // the largest finite positive code: codes 0.._maxCode are ascending values

        private MiniFloatFormat(int exponentBits, int mantissaBits, int bias, Kind kind)
        {
            Bits = 1 + exponentBits + mantissaBits;
            SignBit = 1 << (Bits - 1);
            KindOf = kind;
            _values = new float[1 << Bits];
            for (int code = 0; code < _values.Length; code++)
            {
                _values[code] = Decode(code, exponentBits, mantissaBits, bias, kind);
            }

            _maxCode = SignBit - 1;
            while (!float.IsFinite(_values[_maxCode]))
            {
                _maxCode--;
            }
        }

        internal enum Kind
        {
            /// <summary>Finite and NaN only (all-ones is NaN): E4M3FN.</summary>
            FiniteNaN,
            /// <summary>IEEE-like: infinities and NaNs at the top exponent: E5M2.</summary>
            Ieee,
            /// <summary>No infinities, no negative zero; the one NaN is the negative zero's code: the FNUZ formats.</summary>
            UnsignedZero,
            /// <summary>Finite only: E2M1.</summary>
            Finite,
        }

        public static readonly MiniFloatFormat E4M3FN = new MiniFloatFormat(4, 3, 7, Kind.FiniteNaN);
        public static readonly MiniFloatFormat E4M3FNUZ = new MiniFloatFormat(4, 3, 8, Kind.UnsignedZero);
        public static readonly MiniFloatFormat E5M2 = new MiniFloatFormat(5, 2, 15, Kind.Ieee);
        public static readonly MiniFloatFormat E5M2FNUZ = new MiniFloatFormat(5, 2, 16, Kind.UnsignedZero);
        public static readonly MiniFloatFormat E2M1 = new MiniFloatFormat(2, 1, 1, Kind.Finite);

        public int Bits { get; }

        public int SignBit { get; }

        public Kind KindOf { get; }

        public float MaxValue => _values[_maxCode];

        public float ToFloat(int code) => _values[code & ((1 << Bits) - 1)];

        /// <summary>The code nearest <paramref name="value"/> (ties to the even code); out of range: the largest finite value when <paramref name="saturate"/>, else infinity or NaN.</summary>
        public int FromFloat(float value, bool saturate)
        {
            if (float.IsNaN(value))
            {
                return KindOf switch
                {
                    Kind.UnsignedZero => SignBit,
                    Kind.Finite => _maxCode, // no NaN to give: the largest value
                    _ => (float.IsNegative(value) ? SignBit : 0) | (SignBit - 1), // S.1111.111 / S.11111.11
                };
            }

            int sign = float.IsNegative(value) ? SignBit : 0;
            double magnitude = Math.Abs((double)value);
            int code;
            if (magnitude > MaxValue)
            {
                double next = (double)MaxValue + (MaxValue - _values[_maxCode - 1]); // one step past the top of the grid
                bool roundsDown = magnitude < (MaxValue + next) / 2 || (magnitude == (MaxValue + next) / 2 && (_maxCode & 1) == 0);
                if (saturate || (roundsDown && !float.IsInfinity(value)))
                {
                    code = _maxCode;
                }
                else
                {
                    return KindOf switch
                    {
                        Kind.Ieee => sign | (_maxCode + 1), // infinity
                        Kind.FiniteNaN => sign | ((1 << Bits) - 1 & ~SignBit),
                        Kind.UnsignedZero => SignBit,
                        _ => sign | _maxCode,
                    };
                }
            }
            else
            {
                code = Nearest(magnitude);
            }

            if (code == 0 && KindOf == Kind.UnsignedZero)
            {
                return 0; // no negative zero: its code is NaN
            }

            return sign | code;
        }

        private int Nearest(double magnitude)
        {
            int low = 0, high = _maxCode; // the largest code whose value is <= magnitude
            while (low < high)
            {
                int mid = (low + high + 1) / 2;
                if (_values[mid] <= magnitude)
                {
                    low = mid;
                }
                else
                {
                    high = mid - 1;
                }
            }

            if (_values[low] == magnitude || low == _maxCode)
            {
                return low;
            }

            double midpoint = ((double)_values[low] + _values[low + 1]) / 2; // exact: both are short binary fractions
            return magnitude < midpoint ? low : magnitude > midpoint ? low + 1 : (low & 1) == 0 ? low : low + 1;
        }

        private static float Decode(int code, int exponentBits, int mantissaBits, int bias, Kind kind)
        {
            int signBit = 1 << (exponentBits + mantissaBits);
            bool negative = (code & signBit) != 0;
            int exponent = (code >> mantissaBits) & ((1 << exponentBits) - 1);
            int mantissa = code & ((1 << mantissaBits) - 1);
            int topExponent = (1 << exponentBits) - 1;
            switch (kind)
            {
                case Kind.UnsignedZero when code == signBit:
                    return float.NaN;
                case Kind.FiniteNaN when exponent == topExponent && mantissa == (1 << mantissaBits) - 1:
                    return float.NaN;
                case Kind.Ieee when exponent == topExponent:
                    return mantissa == 0 ? (negative ? float.NegativeInfinity : float.PositiveInfinity) : float.NaN;
            }

            double magnitude = exponent == 0
                ? mantissa * Math.Pow(2, 1 - bias - mantissaBits)
                : (1 + mantissa / (double)(1 << mantissaBits)) * Math.Pow(2, exponent - bias);
            return (float)(negative ? -magnitude : magnitude);
        }
    }

    /// <summary>ONNX's float8 E4M3FN: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, NaN is S.1111.111; largest 448.</summary>
    public readonly struct Float8E4M3FN : IEquatable<Float8E4M3FN>
    {
        private Float8E4M3FN(byte raw) => RawValue = raw;

        /// <summary>The bits as stored.</summary>
        public byte RawValue { get; }

        /// <summary>The value with these bits.</summary>
        public static Float8E4M3FN FromRaw(byte raw) => new Float8E4M3FN(raw);

        /// <summary>The nearest value (ties to even); out of range gives ±448 when <paramref name="saturate"/> (ONNX's Cast default), else NaN.</summary>
        public static Float8E4M3FN FromFloat(float value, bool saturate = true) => new Float8E4M3FN((byte)MiniFloatFormat.E4M3FN.FromFloat(value, saturate));

        /// <summary>The largest finite value, 448.</summary>
        public static Float8E4M3FN MaxValue => new Float8E4M3FN(0x7E);

        /// <summary>True for the NaN codes.</summary>
        public bool IsNaN => float.IsNaN((float)this);

        /// <summary>The value as a float (exact).</summary>
        public static explicit operator float(Float8E4M3FN value) => MiniFloatFormat.E4M3FN.ToFloat(value.RawValue);

        /// <summary>The nearest value, saturating (see <see cref="FromFloat"/>).</summary>
        public static explicit operator Float8E4M3FN(float value) => FromFloat(value);

        /// <inheritdoc/>
        public bool Equals(Float8E4M3FN other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Float8E4M3FN other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <inheritdoc/>
        public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>ONNX's float8 E4M3FNUZ: 1 sign, 4 exponent (bias 8), 3 mantissa bits; no infinities or negative zero, NaN is 0x80; largest 240.</summary>
    public readonly struct Float8E4M3FNUZ : IEquatable<Float8E4M3FNUZ>
    {
        private Float8E4M3FNUZ(byte raw) => RawValue = raw;

        /// <summary>The bits as stored.</summary>
        public byte RawValue { get; }

        /// <summary>The value with these bits.</summary>
        public static Float8E4M3FNUZ FromRaw(byte raw) => new Float8E4M3FNUZ(raw);

        /// <summary>The nearest value (ties to even); out of range gives ±240 when <paramref name="saturate"/> (ONNX's Cast default), else NaN.</summary>
        public static Float8E4M3FNUZ FromFloat(float value, bool saturate = true) => new Float8E4M3FNUZ((byte)MiniFloatFormat.E4M3FNUZ.FromFloat(value, saturate));

        /// <summary>True for the NaN code.</summary>
        public bool IsNaN => RawValue == 0x80;

        /// <summary>The value as a float (exact).</summary>
        public static explicit operator float(Float8E4M3FNUZ value) => MiniFloatFormat.E4M3FNUZ.ToFloat(value.RawValue);

        /// <summary>The nearest value, saturating (see <see cref="FromFloat"/>).</summary>
        public static explicit operator Float8E4M3FNUZ(float value) => FromFloat(value);

        /// <inheritdoc/>
        public bool Equals(Float8E4M3FNUZ other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Float8E4M3FNUZ other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <inheritdoc/>
        public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>ONNX's float8 E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits, IEEE-like with infinities and NaNs; largest 57344.</summary>
    public readonly struct Float8E5M2 : IEquatable<Float8E5M2>
    {
        private Float8E5M2(byte raw) => RawValue = raw;

        /// <summary>The bits as stored.</summary>
        public byte RawValue { get; }

        /// <summary>The value with these bits.</summary>
        public static Float8E5M2 FromRaw(byte raw) => new Float8E5M2(raw);

        /// <summary>The nearest value (ties to even); out of range gives ±57344 when <paramref name="saturate"/> (ONNX's Cast default), else ±infinity.</summary>
        public static Float8E5M2 FromFloat(float value, bool saturate = true) => new Float8E5M2((byte)MiniFloatFormat.E5M2.FromFloat(value, saturate));

        /// <summary>True for the NaN codes.</summary>
        public bool IsNaN => float.IsNaN((float)this);

        /// <summary>True for ±infinity.</summary>
        public bool IsInfinity => float.IsInfinity((float)this);

        /// <summary>The value as a float (exact).</summary>
        public static explicit operator float(Float8E5M2 value) => MiniFloatFormat.E5M2.ToFloat(value.RawValue);

        /// <summary>The nearest value, saturating (see <see cref="FromFloat"/>).</summary>
        public static explicit operator Float8E5M2(float value) => FromFloat(value);

        /// <inheritdoc/>
        public bool Equals(Float8E5M2 other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Float8E5M2 other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <inheritdoc/>
        public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>ONNX's float8 E5M2FNUZ: 1 sign, 5 exponent (bias 16), 2 mantissa bits; no infinities or negative zero, NaN is 0x80; largest 57344.</summary>
    public readonly struct Float8E5M2FNUZ : IEquatable<Float8E5M2FNUZ>
    {
        private Float8E5M2FNUZ(byte raw) => RawValue = raw;

        /// <summary>The bits as stored.</summary>
        public byte RawValue { get; }

        /// <summary>The value with these bits.</summary>
        public static Float8E5M2FNUZ FromRaw(byte raw) => new Float8E5M2FNUZ(raw);

        /// <summary>The nearest value (ties to even); out of range gives ±57344 when <paramref name="saturate"/> (ONNX's Cast default), else NaN.</summary>
        public static Float8E5M2FNUZ FromFloat(float value, bool saturate = true) => new Float8E5M2FNUZ((byte)MiniFloatFormat.E5M2FNUZ.FromFloat(value, saturate));

        /// <summary>True for the NaN code.</summary>
        public bool IsNaN => RawValue == 0x80;

        /// <summary>The value as a float (exact).</summary>
        public static explicit operator float(Float8E5M2FNUZ value) => MiniFloatFormat.E5M2FNUZ.ToFloat(value.RawValue);

        /// <summary>The nearest value, saturating (see <see cref="FromFloat"/>).</summary>
        public static explicit operator Float8E5M2FNUZ(float value) => FromFloat(value);

        /// <inheritdoc/>
        public bool Equals(Float8E5M2FNUZ other) => RawValue == other.RawValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Float8E5M2FNUZ other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => RawValue;

        /// <inheritdoc/>
        public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);
    }
}
