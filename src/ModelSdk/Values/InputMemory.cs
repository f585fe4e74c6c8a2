using System;
using System.Numerics.Tensors;

namespace ModelSdk
{
    /// <summary>
    /// An input for a run that outlives the call (<c>RunAsync</c>, <c>StartAsync</c>, queues): memory
    /// that can be kept and pinned, i.e. arrays, <see cref="Memory{T}"/> and tensors, not spans.
    /// By default it is copied when the run is started, so the caller may reuse the buffer at once;
    /// with <see cref="InputMode.Shared"/> it is pinned and read in place until the run completes.
    /// </summary>
    /// <typeparam name="T">The element type; it must match the model input's element type.</typeparam>
    public readonly struct InputMemory<T>
    {
        internal readonly ReadOnlyMemory<T> Data;
        internal readonly nint[]? Shape;
        internal readonly Tensor<T>? Tensor;
        internal readonly bool IsNull;

        /// <summary>Wraps memory; the model's shape (and the symbolic dims given) say how to read it.</summary>
        public InputMemory(ReadOnlyMemory<T> data)
        {
            Data = data;
            Shape = null;
            Tensor = null;
            IsNull = false;
        }

        /// <summary>Wraps memory with an explicit shape.</summary>
        public InputMemory(ReadOnlyMemory<T> data, nint[] shape)
        {
            Data = data;
            Shape = shape ?? throw new ArgumentNullException(nameof(shape));
            Tensor = null;
            IsNull = false;
        }

        private InputMemory(Tensor<T>? tensor)
        {
            Data = default;
            Shape = null;
            Tensor = tensor;
            IsNull = tensor is null;
        }

        /// <summary>Number of elements.</summary>
        public int Length => Tensor != null ? checked((int)Tensor.FlattenedLength) : Data.Length;

        /// <summary>Wraps an array (no copy until the run starts).</summary>
        public static implicit operator InputMemory<T>(T[]? data) => data is null ? new InputMemory<T>((Tensor<T>?)null) : new InputMemory<T>((ReadOnlyMemory<T>)data);

        /// <summary>Wraps memory.</summary>
        public static implicit operator InputMemory<T>(Memory<T> data) => new InputMemory<T>(data);

        /// <summary>Wraps memory.</summary>
        public static implicit operator InputMemory<T>(ReadOnlyMemory<T> data) => new InputMemory<T>(data);

        /// <summary>Wraps a tensor and its shape. Shared mode reads it in place only when it is dense and pinned; otherwise it is copied.</summary>
        public static implicit operator InputMemory<T>(Tensor<T>? tensor) => new InputMemory<T>(tensor);
    }
}
