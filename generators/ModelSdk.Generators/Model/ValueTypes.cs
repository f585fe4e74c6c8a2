namespace ModelSdk.Generators.Model
{
    /// <summary>
    /// Sequences, maps and optionals: the C# types the generated API uses for them, and the runtime's description of
    /// them. The rules match the runtime's <c>OnnxType.IsSupported</c>: what ONNX Runtime passes through its API.
    /// </summary>
    internal static class ValueTypes
    {
        private const string Rt = "global::ModelSdk.";
        private const string Collections = "global::System.Collections.Generic.";

        /// <summary>True for a sequence, map or optional ModelSdk passes (tensors are not "values" here).</summary>
        public static bool IsValue(TypeSpec type) => type.Kind != ValueKind.Tensor && OutputType(type) != null;

        /// <summary>The type generated code reads an output of this type as (without the <c>?</c> of an optional), or null.</summary>
        public static string? OutputType(TypeSpec type)
        {
            switch (type.Kind)
            {
                case ValueKind.Tensor:
                    return ElementTypes.CSharpType(type.ElementType) is string clr ? Rt + "OnnxTensor<" + clr + ">" : null;
                case ValueKind.Sequence when type.Element is TypeSpec element && element.Kind is ValueKind.Tensor or ValueKind.Map:
                    return OutputType(element) is string inner ? Rt + "OnnxSequence<" + inner + ">" : null;
                case ValueKind.Map:
                    return MapTypes(type) is (string key, string value) ? Rt + "OnnxMap<" + key + ", " + value + ">" : null;
                case ValueKind.Optional when type.Element is TypeSpec contained && contained.Kind is ValueKind.Tensor or ValueKind.Sequence:
                    return OutputType(contained);
                default:
                    return null;
            }
        }

        /// <summary>The type a generated method takes for an input of this type (without the <c>?</c> of an optional), or null.</summary>
        public static string? InputType(TypeSpec type)
        {
            if (OutputType(type) is null)
            {
                return null;
            }

            switch (type.Kind)
            {
                case ValueKind.Tensor:
                    return OutputType(type);
                case ValueKind.Sequence:
                    return Collections + "IReadOnlyList<" + InputType(type.Element!) + ">";
                case ValueKind.Map:
                    (string key, string value) = MapTypes(type)!.Value;
                    return Collections + "IReadOnlyDictionary<" + key + ", " + value + ">";
                default:
                    return InputType(type.Element!);
            }
        }

        /// <summary>The runtime's <c>OnnxType</c> for this type, as a C# expression; null for kinds it doesn't describe.</summary>
        public static string? RuntimeType(TypeSpec type)
        {
            switch (type.Kind)
            {
                case ValueKind.Tensor:
                    return Rt + "OnnxType.Tensor(" + Rt + "OnnxElementType." + ElementTypes.RuntimeEnumMember(type.ElementType) + ")";
                case ValueKind.Sequence when type.Element != null && RuntimeType(type.Element) is string element:
                    return Rt + "OnnxType.Sequence(" + element + ")";
                case ValueKind.Optional when type.Element != null && RuntimeType(type.Element) is string contained:
                    return Rt + "OnnxType.Optional(" + contained + ")";
                case ValueKind.Map when type.Element != null && RuntimeType(type.Element) is string value:
                    return Rt + "OnnxType.Map(" + Rt + "OnnxElementType." + ElementTypes.RuntimeEnumMember(type.KeyType) + ", " + value + ")";
                default:
                    return null;
            }
        }

        /// <summary>Why ONNX Runtime can't pass a type, and what to do, for MSDK0003.</summary>
        public static string WhatToDo(TypeSpec type)
        {
            switch (type.Kind)
            {
                case ValueKind.Tensor when type.ElementType is 14 or 15:
                    return "ONNX Runtime has no complex tensors to pass (" + ElementTypes.OnnxName(type.ElementType) +
                           "): split the value into real and imaginary float tensors at the graph's edge";
                case ValueKind.Tensor:
                    return "ModelSdk has no C# type for element type " + ElementTypes.OnnxName(type.ElementType) +
                           ": add a Cast node to a supported type (float, int64, ...) at the graph's edge";
                case ValueKind.Map:
                    return "ONNX Runtime passes maps from int64 or string keys to float, double, int64 or string values only";
                case ValueKind.Sequence:
                    return "ONNX Runtime passes sequences of tensors or of maps only";
                case ValueKind.Optional:
                    return "ONNX Runtime passes optional tensors and optional sequences only";
                case ValueKind.SparseTensor:
                    return "ModelSdk does not pass sparse tensors: densify the value in the graph (or run the model with ONNX Runtime directly)";
                default:
                    return "ModelSdk can't pass this kind of value; run the model with ONNX Runtime directly";
            }
        }

        /// <summary>Whether generated code may pass null for an input of this type (an absent optional).</summary>
        public static bool IsOptional(TypeSpec type) => type.Kind == ValueKind.Optional;

        // ONNX Runtime's maps: int64 or string keys; float, double, int64 or string values.
        private static (string Key, string Value)? MapTypes(TypeSpec map) =>
            map.KeyType is 7 or 8 && map.Element is { Kind: ValueKind.Tensor, ElementType: 1 or 11 or 7 or 8 } value
                ? (ElementTypes.CSharpType(map.KeyType)!, ElementTypes.CSharpType(value.ElementType)!)
                : null;
    }
}
