using System;
using System.Collections.Generic;

namespace ModelSdk
{
    /// <summary>ONNX's kinds of values (ONNX Runtime's <c>ONNXType</c>).</summary>
    public enum OnnxValueKind
    {
        /// <summary>Unknown.</summary>
        Unknown = 0,
        /// <summary>A dense tensor.</summary>
        Tensor = 1,
        /// <summary>A sequence of tensors or maps: <c>seq(...)</c>.</summary>
        Sequence = 2,
        /// <summary>A map from int64 or string keys to scalars: <c>map(K, tensor(V))</c>.</summary>
        Map = 3,
        /// <summary>An opaque value (not passed by ModelSdk).</summary>
        Opaque = 4,
        /// <summary>A sparse tensor (not passed by ModelSdk).</summary>
        SparseTensor = 5,
        /// <summary>An optional value: <c>optional(...)</c>, absent or holding a tensor or a sequence.</summary>
        Optional = 6,
    }

    /// <summary>
    /// The full type of a model input or output, nested as ONNX declares it: <c>tensor(float)</c>,
    /// <c>seq(map(int64,tensor(float)))</c>, <c>optional(seq(tensor(int64)))</c>, ...
    /// </summary>
    public sealed class OnnxType : IEquatable<OnnxType>
    {
        private OnnxType(OnnxValueKind kind, OnnxElementType elementType, OnnxElementType keyType, OnnxType? element)
        {
            Kind = kind;
            ElementType = elementType;
            KeyType = keyType;
            Element = element;
        }

        /// <summary>Tensor, sequence, map or optional.</summary>
        public OnnxValueKind Kind { get; }

        /// <summary>A tensor's element type (Undefined for the other kinds).</summary>
        public OnnxElementType ElementType { get; }

        /// <summary>A map's key type (Undefined for the other kinds).</summary>
        public OnnxElementType KeyType { get; }

        /// <summary>A sequence's element type, a map's value type, or the type an optional holds; null for tensors.</summary>
        public OnnxType? Element { get; }

        /// <summary>A tensor of <paramref name="elementType"/>.</summary>
        public static OnnxType Tensor(OnnxElementType elementType) => new OnnxType(OnnxValueKind.Tensor, elementType, OnnxElementType.Undefined, null);

        /// <summary>A sequence of <paramref name="element"/>.</summary>
        public static OnnxType Sequence(OnnxType element) =>
            new OnnxType(OnnxValueKind.Sequence, OnnxElementType.Undefined, OnnxElementType.Undefined, element ?? throw new ArgumentNullException(nameof(element)));

        /// <summary>A map from <paramref name="keyType"/> to <paramref name="value"/> (ONNX writes the value as a tensor type).</summary>
        public static OnnxType Map(OnnxElementType keyType, OnnxType value) =>
            new OnnxType(OnnxValueKind.Map, OnnxElementType.Undefined, keyType, value ?? throw new ArgumentNullException(nameof(value)));

        /// <summary>An optional <paramref name="element"/>.</summary>
        public static OnnxType Optional(OnnxType element) =>
            new OnnxType(OnnxValueKind.Optional, OnnxElementType.Undefined, OnnxElementType.Undefined, element ?? throw new ArgumentNullException(nameof(element)));

        /// <summary>A kind ModelSdk does not pass (sparse tensors, opaque values).</summary>
        public static OnnxType Other(OnnxValueKind kind) => new OnnxType(kind, OnnxElementType.Undefined, OnnxElementType.Undefined, null);

        /// <summary>
        /// True when ModelSdk (and ONNX Runtime) can pass values of this type: tensors of supported element types,
        /// sequences of those tensors or of maps, maps from int64 or string to a scalar type, optional tensors or sequences.
        /// </summary>
        public bool IsSupported => Kind switch
        {
            OnnxValueKind.Tensor => OnnxElementTypes.IsSupported(ElementType),
            OnnxValueKind.Sequence => Element!.Kind is OnnxValueKind.Tensor or OnnxValueKind.Map && Element.IsSupported,
            OnnxValueKind.Map => KeyType is OnnxElementType.Int64 or OnnxElementType.String &&
                                 Element!.Kind == OnnxValueKind.Tensor &&
                                 Element.ElementType is OnnxElementType.Float or OnnxElementType.Double or OnnxElementType.Int64 or OnnxElementType.String,
            OnnxValueKind.Optional => Element!.Kind is OnnxValueKind.Tensor or OnnxValueKind.Sequence && Element.IsSupported,
            _ => false,
        };

        /// <summary>ONNX's text for the type, e.g. <c>seq(map(int64,tensor(float)))</c>.</summary>
        public override string ToString() => Kind switch
        {
            OnnxValueKind.Tensor => "tensor(" + OnnxElementTypes.OnnxName(ElementType) + ")",
            OnnxValueKind.Sequence => "seq(" + Element + ")",
            OnnxValueKind.Map => "map(" + OnnxElementTypes.OnnxName(KeyType) + "," + Element + ")",
            OnnxValueKind.Optional => "optional(" + Element + ")",
            OnnxValueKind.SparseTensor => "sparse_tensor",
            OnnxValueKind.Opaque => "opaque",
            _ => "unknown",
        };

        /// <inheritdoc/>
        public bool Equals(OnnxType? other) =>
            other is not null && Kind == other.Kind && ElementType == other.ElementType && KeyType == other.KeyType &&
            (Element is null ? other.Element is null : Element.Equals(other.Element));

        /// <inheritdoc/>
        public override bool Equals(object? obj) => Equals(obj as OnnxType);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(Kind, ElementType, KeyType, Element);
    }
}
