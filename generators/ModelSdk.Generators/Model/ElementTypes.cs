namespace ModelSdk.Generators.Model
{
    /// <summary>ONNX tensor element types (TensorProto.DataType) and how the generated code spells them.</summary>
    internal static class ElementTypes
    {
        public const int String = 8;

        /// <summary>The ONNX name of an element type, as ONNX prints it (e.g. <c>float</c>, <c>int64</c>).</summary>
        public static string OnnxName(int type) => type switch
        {
            1 => "float",
            2 => "uint8",
            3 => "int8",
            4 => "uint16",
            5 => "int16",
            6 => "int32",
            7 => "int64",
            8 => "string",
            9 => "bool",
            10 => "float16",
            11 => "double",
            12 => "uint32",
            13 => "uint64",
            14 => "complex64",
            15 => "complex128",
            16 => "bfloat16",
            17 => "float8e4m3fn",
            18 => "float8e4m3fnuz",
            19 => "float8e5m2",
            20 => "float8e5m2fnuz",
            21 => "uint4",
            22 => "int4",
            23 => "float4e2m1",
            0 => "undefined",
            _ => "type" + type.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        /// <summary>The C# type the generated API uses for an element type, or null when ModelSdk can't express it.</summary>
        public static string? CSharpType(int type) => type switch
        {
            1 => "float",
            2 => "byte",
            3 => "sbyte",
            4 => "ushort",
            5 => "short",
            6 => "int",
            7 => "long",
            8 => "string",
            9 => "bool",
            10 => "global::System.Half",
            11 => "double",
            12 => "uint",
            13 => "ulong",
            16 => "global::Microsoft.ML.OnnxRuntime.BFloat16",
            17 => "global::ModelSdk.Float8E4M3FN",
            18 => "global::ModelSdk.Float8E4M3FNUZ",
            19 => "global::ModelSdk.Float8E5M2",
            20 => "global::ModelSdk.Float8E5M2FNUZ",
            21 => "global::ModelSdk.UInt4x2",
            22 => "global::ModelSdk.Int4x2",
            23 => "global::ModelSdk.Float4E2M1x2",
            _ => null,
        };

        /// <summary>The 4-bit types, two elements per byte: their C# type holds a pair.</summary>
        public static bool IsPacked(int type) => type is 21 or 22 or 23;

        /// <summary>The member of the runtime's <c>ModelSdk.OnnxElementType</c> enum.</summary>
        public static string RuntimeEnumMember(int type) => type switch
        {
            1 => "Float",
            2 => "UInt8",
            3 => "Int8",
            4 => "UInt16",
            5 => "Int16",
            6 => "Int32",
            7 => "Int64",
            8 => "String",
            9 => "Bool",
            10 => "Float16",
            11 => "Double",
            12 => "UInt32",
            13 => "UInt64",
            14 => "Complex64",
            15 => "Complex128",
            16 => "BFloat16",
            17 => "Float8E4M3FN",
            18 => "Float8E4M3FNUZ",
            19 => "Float8E5M2",
            20 => "Float8E5M2FNUZ",
            21 => "UInt4",
            22 => "Int4",
            23 => "Float4E2M1",
            _ => "Undefined",
        };
    }
}
