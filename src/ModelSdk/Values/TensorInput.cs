using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelSdk
{
    /// <summary>
    /// A typed model input: any contiguous memory of <typeparamref name="T"/> (arrays, spans,
    /// <see cref="Memory{T}"/>, System.Numerics.Tensors tensors), optionally with a shape. It is a
    /// view: nothing is copied when it is created or passed.
    /// </summary>
    /// <typeparam name="T">The element type; it must match the model input's element type.</typeparam>
    public readonly ref struct TensorInput<T>
    {
        internal readonly ReadOnlySpan<T> Data;
        internal readonly ReadOnlySpan<nint> Lengths;
        internal readonly bool HasShape;
        internal readonly bool IsNull;

        private TensorInput(bool isNull)
        {
            Data = default;
            Lengths = default;
            HasShape = false;
            IsNull = isNull;
        }

        /// <summary>Wraps flat data; the model's shape (and the symbolic dims passed to Run) say how to read it.</summary>
        public TensorInput(ReadOnlySpan<T> data)
        {
            Data = data;
            Lengths = default;
            HasShape = false;
            IsNull = false;
        }

        /// <summary>Wraps flat data with an explicit shape, which must agree with the model's shape.</summary>
        public TensorInput(ReadOnlySpan<T> data, ReadOnlySpan<nint> shape)
        {
            Data = data;
            Lengths = shape;
            HasShape = true;
            IsNull = false;
        }

        /// <summary>Number of elements.</summary>
        public int Length => Data.Length;

        /// <summary>Wraps an array (no copy).</summary>
        public static implicit operator TensorInput<T>(T[]? data) => data is null ? new TensorInput<T>(isNull: true) : new TensorInput<T>(data);

        /// <summary>Wraps a span (no copy).</summary>
        public static implicit operator TensorInput<T>(Span<T> data) => new TensorInput<T>(data);

        /// <summary>Wraps a span (no copy).</summary>
        public static implicit operator TensorInput<T>(ReadOnlySpan<T> data) => new TensorInput<T>(data);

        /// <summary>Wraps memory (no copy).</summary>
        public static implicit operator TensorInput<T>(Memory<T> data) => new TensorInput<T>(data.Span);

        /// <summary>Wraps memory (no copy).</summary>
        public static implicit operator TensorInput<T>(ReadOnlyMemory<T> data) => new TensorInput<T>(data.Span);

        /// <summary>Wraps a tensor and its shape (no copy when it is dense).</summary>
        public static implicit operator TensorInput<T>(Tensor<T>? tensor) =>
            tensor is null
                ? new TensorInput<T>(isNull: true)
                : new TensorInput<T>(tensor.IsDense ? Contiguous(ref tensor.GetPinnableReference(), tensor.FlattenedLength) : Dense(tensor.AsReadOnlyTensorSpan()), tensor.Lengths);

        /// <summary>Wraps a tensor span and its shape (no copy when it is dense).</summary>
        public static implicit operator TensorInput<T>(in TensorSpan<T> tensor) =>
            new TensorInput<T>(tensor.IsDense ? Contiguous(ref tensor.GetPinnableReference(), tensor.FlattenedLength) : Dense(tensor.AsReadOnlyTensorSpan()), tensor.Lengths);

        /// <summary>Wraps a tensor span and its shape (no copy when it is dense).</summary>
        public static implicit operator TensorInput<T>(in ReadOnlyTensorSpan<T> tensor) =>
            new TensorInput<T>(tensor.IsDense ? Contiguous(ref Unsafe.AsRef(in tensor.GetPinnableReference()), tensor.FlattenedLength) : Dense(tensor), tensor.Lengths);

        /// <summary>
        /// Chains models: another model's output, read in place (no copy) with its actual shape. The view is
        /// checked to be current; its request must not run again until this call returns.
        /// </summary>
        public static implicit operator TensorInput<T>(OutputTensor<T> output)
        {
            ReadOnlySpan<T> data = output.Span;
            ReadOnlySpan<long> shape = output.Shape;
            return new TensorInput<T>(data, IntPtr.Size == sizeof(long) ? MemoryMarshal.Cast<long, nint>(shape) : Array.ConvertAll(shape.ToArray(), d => (nint)d));
        }

        /// <summary>Chains models: another model's output of a synchronous run, read in place (no copy) with its actual shape.</summary>
        public static implicit operator TensorInput<T>(OutputSpan<T> output) => output.View;

        private static ReadOnlySpan<T> Contiguous(ref T first, nint length) => MemoryMarshal.CreateReadOnlySpan(ref first, checked((int)length));

        // Strided or broadcast views have no contiguous memory to share: make one dense copy.
        private static T[] Dense(ReadOnlyTensorSpan<T> tensor)
        {
            var dense = new T[checked((int)tensor.FlattenedLength)];
            tensor.FlattenTo(dense);
            return dense;
        }

        /// <summary>The untyped form the request machinery takes.</summary>
        public static implicit operator InputArg(TensorInput<T> input) => InputArg.Create(input);
    }

    /// <summary>
    /// An input as the request sees it: its elements' memory (for strings, the references), element type and
    /// optional shape. Kept small: synchronous runs pass it by value, once per input.
    /// </summary>
    public readonly ref struct InputArg
    {
        internal readonly ReadOnlySpan<byte> Bytes;     // the elements; for strings, the string references themselves
        internal readonly ReadOnlySpan<nint> Lengths;
        internal readonly int Length;
        internal readonly OnnxElementType Type;
        internal readonly bool HasShape;
        internal readonly bool IsNull;
        internal readonly bool IsValue;  // a sequence, map or optional, as an object (Value; null: an absent optional)
        internal readonly object? Value;

        private InputArg(ReadOnlySpan<byte> bytes, int length, OnnxElementType type, ReadOnlySpan<nint> lengths, bool hasShape, bool isNull)
        {
            IsNull = isNull;
            Bytes = bytes;
            Length = length;
            Type = type;
            Lengths = lengths;
            HasShape = hasShape;
            IsValue = false;
            Value = null;
        }

        private InputArg(object? value)
        {
            this = default;
            IsValue = true;
            Value = value;
        }

        /// <summary>
        /// A sequence, map or optional input as a managed object, checked against the input's type when staged:
        /// a list of <see cref="OnnxTensor{T}"/> for <c>seq(tensor(T))</c>, an <see cref="System.Collections.Generic.IReadOnlyDictionary{TKey, TValue}"/>
        /// for <c>map(K, V)</c>, a list of those for <c>seq(map(K, V))</c>, and for <c>optional(...)</c> its value, or null when absent.
        /// It is copied into ONNX Runtime's memory when staged.
        /// </summary>
        public static InputArg FromValue(object? value) => new InputArg(value);

        /// <summary>The strings of a string input.</summary>
        internal ReadOnlySpan<string> Strings =>
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, string>(ref MemoryMarshal.GetReference(Bytes)), Type == OnnxElementType.String ? Length : 0);

        /// <summary>An input of any non-string element type from raw bytes (little-endian, row-major), for tools that don't know the model at compile time.</summary>
        /// <param name="type">The element type the bytes hold.</param>
        /// <param name="data">The elements' bytes; its length must be a multiple of the element size.</param>
        /// <param name="shape">The shape.</param>
        public static InputArg FromBytes(OnnxElementType type, ReadOnlySpan<byte> data, ReadOnlySpan<nint> shape)
        {
            int size = OnnxElementTypes.SizeOf(type);
            if (size == 0)
            {
                throw new ArgumentException($"Element type {OnnxElementTypes.OnnxName(type)} can't be passed as bytes.", nameof(type));
            }

            if (data.Length % size != 0)
            {
                throw new ArgumentException($"{data.Length} bytes is not a whole number of {OnnxElementTypes.OnnxName(type)} elements.", nameof(data));
            }

            return new InputArg(data, data.Length / size, type, shape, hasShape: true, isNull: false);
        }

        /// <summary>A string input with a shape, for tools that don't know the model at compile time.</summary>
        public static InputArg FromStrings(ReadOnlySpan<string> data, ReadOnlySpan<nint> shape) =>
            new InputArg(AsBytes(data), data.Length, OnnxElementType.String, shape, hasShape: true, isNull: false);

        internal static InputArg Create<T>(TensorInput<T> input)
        {
            OnnxElementType type = ElementTypeOf<T>.Value;
            if (typeof(T) == typeof(string))
            {
                ReadOnlySpan<string> strings = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, string>(ref MemoryMarshal.GetReference(input.Data)), input.Data.Length);
                return new InputArg(AsBytes(strings), input.Data.Length, type, input.Lengths, input.HasShape, input.IsNull);
            }

            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                throw new NotSupportedException($"{typeof(T)} can't be passed to ONNX Runtime: it is not an ONNX element type.");
            }

            ReadOnlySpan<byte> bytes = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(input.Data)), checked(input.Data.Length * Unsafe.SizeOf<T>()));
            return new InputArg(bytes, input.Data.Length, type, input.Lengths, input.HasShape, input.IsNull);
        }

        // The references of a string span seen as bytes: the GC still tracks the interior pointer into the array.
        private static ReadOnlySpan<byte> AsBytes(ReadOnlySpan<string> strings) =>
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<string, byte>(ref MemoryMarshal.GetReference(strings)), strings.Length * IntPtr.Size);
    }
}
