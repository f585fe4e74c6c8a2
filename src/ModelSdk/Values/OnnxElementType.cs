using System;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk
{
    /// <summary>ONNX tensor element types (the values of ONNX's <c>TensorProto.DataType</c>).</summary>
    public enum OnnxElementType
    {
        /// <summary>Not a tensor type, or unknown.</summary>
        Undefined = 0,
        /// <summary>32-bit float (<see cref="float"/>).</summary>
        Float = 1,
        /// <summary><see cref="byte"/>.</summary>
        UInt8 = 2,
        /// <summary><see cref="sbyte"/>.</summary>
        Int8 = 3,
        /// <summary><see cref="ushort"/>.</summary>
        UInt16 = 4,
        /// <summary><see cref="short"/>.</summary>
        Int16 = 5,
        /// <summary><see cref="int"/>.</summary>
        Int32 = 6,
        /// <summary><see cref="long"/>.</summary>
        Int64 = 7,
        /// <summary><see cref="string"/> (UTF-8 in ONNX).</summary>
        String = 8,
        /// <summary><see cref="bool"/>.</summary>
        Bool = 9,
        /// <summary>IEEE half precision (<see cref="Half"/>).</summary>
        Float16 = 10,
        /// <summary><see cref="double"/>.</summary>
        Double = 11,
        /// <summary><see cref="uint"/>.</summary>
        UInt32 = 12,
        /// <summary><see cref="ulong"/>.</summary>
        UInt64 = 13,
        /// <summary>Complex of two floats (not supported by ModelSdk's typed API).</summary>
        Complex64 = 14,
        /// <summary>Complex of two doubles (not supported by ModelSdk's typed API).</summary>
        Complex128 = 15,
        /// <summary>bfloat16 (<see cref="Microsoft.ML.OnnxRuntime.BFloat16"/>).</summary>
        BFloat16 = 16,
        /// <summary>8-bit float E4M3FN (<see cref="ModelSdk.Float8E4M3FN"/>).</summary>
        Float8E4M3FN = 17,
        /// <summary>8-bit float E4M3FNUZ (<see cref="ModelSdk.Float8E4M3FNUZ"/>).</summary>
        Float8E4M3FNUZ = 18,
        /// <summary>8-bit float E5M2 (<see cref="ModelSdk.Float8E5M2"/>).</summary>
        Float8E5M2 = 19,
        /// <summary>8-bit float E5M2FNUZ (<see cref="ModelSdk.Float8E5M2FNUZ"/>).</summary>
        Float8E5M2FNUZ = 20,
        /// <summary>4-bit unsigned integer, packed two per byte (<see cref="UInt4x2"/>).</summary>
        UInt4 = 21,
        /// <summary>4-bit signed integer, packed two per byte (<see cref="Int4x2"/>).</summary>
        Int4 = 22,
        /// <summary>4-bit float E2M1, packed two per byte (<see cref="Float4E2M1x2"/>).</summary>
        Float4E2M1 = 23,
    }

    /// <summary>Facts about element types: C# type, size, ONNX name.</summary>
    public static class OnnxElementTypes
    {
        /// <summary>Size in bytes of one element, or of one pair of the packed 4-bit types; 0 for strings and unsupported types.</summary>
        public static int SizeOf(OnnxElementType type) => type switch
        {
            OnnxElementType.Float => 4,
            OnnxElementType.UInt8 => 1,
            OnnxElementType.Int8 => 1,
            OnnxElementType.UInt16 => 2,
            OnnxElementType.Int16 => 2,
            OnnxElementType.Int32 => 4,
            OnnxElementType.Int64 => 8,
            OnnxElementType.Bool => 1,
            OnnxElementType.Float16 => 2,
            OnnxElementType.Double => 8,
            OnnxElementType.UInt32 => 4,
            OnnxElementType.UInt64 => 8,
            OnnxElementType.BFloat16 => 2,
            OnnxElementType.Float8E4M3FN or OnnxElementType.Float8E4M3FNUZ or OnnxElementType.Float8E5M2 or OnnxElementType.Float8E5M2FNUZ => 1,
            OnnxElementType.UInt4 or OnnxElementType.Int4 or OnnxElementType.Float4E2M1 => 1, // a pair
            _ => 0,
        };

        /// <summary>True for the 4-bit types, stored two elements per byte (<see cref="Int4x2"/>, <see cref="UInt4x2"/>, <see cref="Float4E2M1x2"/>).</summary>
        public static bool IsPacked(OnnxElementType type) => type is OnnxElementType.UInt4 or OnnxElementType.Int4 or OnnxElementType.Float4E2M1;

        /// <summary>How many values of the C# type hold <paramref name="elements"/> elements: the count itself, or (count + 1) / 2 pairs for packed types.</summary>
        public static long StorageLength(OnnxElementType type, long elements) => IsPacked(type) ? (elements + 1) / 2 : elements;

        /// <summary>True for the element types ModelSdk can pass to and from ONNX Runtime.</summary>
        public static bool IsSupported(OnnxElementType type) => type == OnnxElementType.String || SizeOf(type) > 0;

        /// <summary>The C# type for an element type, or null when unsupported.</summary>
        public static Type? ClrType(OnnxElementType type) => type switch
        {
            OnnxElementType.Float => typeof(float),
            OnnxElementType.UInt8 => typeof(byte),
            OnnxElementType.Int8 => typeof(sbyte),
            OnnxElementType.UInt16 => typeof(ushort),
            OnnxElementType.Int16 => typeof(short),
            OnnxElementType.Int32 => typeof(int),
            OnnxElementType.Int64 => typeof(long),
            OnnxElementType.String => typeof(string),
            OnnxElementType.Bool => typeof(bool),
            OnnxElementType.Float16 => typeof(Half),
            OnnxElementType.Double => typeof(double),
            OnnxElementType.UInt32 => typeof(uint),
            OnnxElementType.UInt64 => typeof(ulong),
            OnnxElementType.BFloat16 => typeof(BFloat16),
            OnnxElementType.Float8E4M3FN => typeof(Float8E4M3FN),
            OnnxElementType.Float8E4M3FNUZ => typeof(Float8E4M3FNUZ),
            OnnxElementType.Float8E5M2 => typeof(Float8E5M2),
            OnnxElementType.Float8E5M2FNUZ => typeof(Float8E5M2FNUZ),
            OnnxElementType.UInt4 => typeof(UInt4x2),
            OnnxElementType.Int4 => typeof(Int4x2),
            OnnxElementType.Float4E2M1 => typeof(Float4E2M1x2),
            _ => null,
        };

        /// <summary>The name ONNX uses, e.g. <c>float</c>, <c>int64</c>.</summary>
        public static string OnnxName(OnnxElementType type) => type switch
        {
            OnnxElementType.Float => "float",
            OnnxElementType.Double => "double",
            OnnxElementType.Float16 => "float16",
            OnnxElementType.BFloat16 => "bfloat16",
            OnnxElementType.String => "string",
            OnnxElementType.Bool => "bool",
            OnnxElementType.Undefined => "undefined",
            _ => type.ToString().ToLowerInvariant(),
        };

        /// <summary>The element type of a C# type (Undefined when it has none).</summary>
        public static OnnxElementType Of<T>() => ElementTypeOf<T>.Value;
    }

    /// <summary>Caches the element type of <typeparamref name="T"/> so that checks on the hot path are a compare.</summary>
    internal static class ElementTypeOf<T>
    {
        public static readonly OnnxElementType Value = Compute();

        private static OnnxElementType Compute()
        {
            for (int i = 1; i <= (int)OnnxElementType.Float4E2M1; i++)
            {
                if (OnnxElementTypes.ClrType((OnnxElementType)i) == typeof(T))
                {
                    return (OnnxElementType)i;
                }
            }

            return OnnxElementType.Undefined;
        }
    }
}
