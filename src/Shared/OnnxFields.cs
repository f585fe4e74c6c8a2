namespace ModelSdk.Onnx
{
    // ONNX's field numbers (onnx.proto3), the one table both the generator's reader and the runtime's pruner use.
    // Compiled into both: the generator targets netstandard2.0 and can't reference the runtime.

    internal static class ModelProto
    {
        public const int IrVersion = 1, ProducerName = 2, ProducerVersion = 3, Domain = 4, ModelVersion = 5,
            DocString = 6, Graph = 7, OpsetImport = 8, MetadataProps = 14;
    }

    internal static class GraphProto
    {
        public const int Node = 1, Name = 2, Initializer = 5, DocString = 10, Input = 11, Output = 12, SparseInitializer = 15;
    }

    internal static class NodeProto
    {
        public const int Input = 1, Output = 2, OpType = 4, Attribute = 5, Domain = 7;
    }

    internal static class AttributeProto
    {
        public const int Name = 1, Graph = 6, Ints = 8, Strings = 9, Graphs = 11;
    }

    internal static class TensorProto
    {
        public const int Name = 8;
    }

    internal static class SparseTensorProto
    {
        public const int Values = 1;
    }

    internal static class OperatorSetIdProto
    {
        public const int Domain = 1, Version = 2;
    }

    internal static class StringStringEntryProto
    {
        public const int Key = 1, Value = 2;
    }

    internal static class ValueInfoProto
    {
        public const int Name = 1, Type = 2, DocString = 3;
    }

    internal static class TypeProto
    {
        public const int TensorType = 1, SequenceType = 4, MapType = 5, Denotation = 6, SparseTensorType = 8, OptionalType = 9, OpaqueType = 7;

        public const int ElemType = 1, Shape = 2;   // TypeProto.Tensor and TypeProto.SparseTensor
        public const int ElementType = 1;           // TypeProto.Sequence and TypeProto.Optional
        public const int KeyType = 1, ValueType = 2; // TypeProto.Map
    }

    internal static class TensorShapeProto
    {
        public const int Dim = 1;

        public const int DimValue = 1, DimParam = 2; // TensorShapeProto.Dimension
    }
}
