using System;

namespace ModelSdk
{
    /// <summary>
    /// An untyped view of one output of one run, for tools that don't know the model at compile time. Same
    /// lifetime rule as <see cref="OutputTensor{T}"/>: valid until its request runs again.
    /// </summary>
    public readonly struct OutputValue
    {
        private readonly OutputSet _set;
        private readonly int _index;
        private readonly long _version;

        internal OutputValue(OutputSet set, int index, long version)
        {
            _set = set;
            _index = index;
            _version = version;
        }

        /// <summary>The output's name, type and declared shape.</summary>
        public TensorInfo Info => _set.Signature.Outputs[_index];

        /// <summary>The element type.</summary>
        public OnnxElementType ElementType => Info.ElementType;

        /// <summary>The actual shape of this run's output.</summary>
        public ReadOnlySpan<long> Shape => _set.Produced(_index, _version).Shape;

        /// <summary>Number of elements.</summary>
        public long ElementCount => _set.Produced(_index, _version).ElementCount;

        /// <summary>True while the view still holds its run's data.</summary>
        public bool IsValid => _set != null && _set.Version == _version;

        /// <summary>The raw bytes of a non-string tensor output, in place (checked when taken).</summary>
        public ReadOnlySpan<byte> Bytes =>
            ElementType == OnnxElementType.String ? throw new InvalidOperationException($"Output '{Info.Name}' holds strings: use Strings.")
            : !Info.IsTensor ? throw new InvalidOperationException($"Output '{Info.Name}' has type {Info.TypeDescription}: use Value.")
            : _set.Produced(_index, _version).Bytes();

        /// <summary>
        /// A sequence, map or optional output, decoded into managed objects (<see cref="OnnxSequence{T}"/>,
        /// <see cref="OnnxMap{TKey, TValue}"/>, <see cref="OnnxTensor{T}"/>; null for an absent optional).
        /// </summary>
        public object? Value => RunOutputs.Decoded<object>(_set, _index, _version);

        /// <summary>The strings of a string output (decoded once per run).</summary>
        public ReadOnlySpan<string> Strings => _set.Span<string>(_index, _version);

        /// <summary>A copy of the raw bytes, checked against the run before and after.</summary>
        public byte[] ToByteArray()
        {
            byte[] copy = Bytes.ToArray();
            _set.CheckStillFresh(_index, _version);
            return copy;
        }

        /// <summary>The typed view of this output.</summary>
        /// <exception cref="InvalidCastException">The output does not hold <typeparamref name="T"/> elements.</exception>
        public OutputTensor<T> As<T>() => RunOutputs.Typed<T>(_set, _index, _version);
    }
}
