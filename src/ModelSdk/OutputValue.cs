using System;

namespace ModelSdk
{
    /// <summary>
    /// An untyped view of one output of one run, for tools that don't know the model at compile
    /// time. Same lifetime rule as <see cref="OutputTensor{T}"/>: valid until the request runs again.
    /// </summary>
    public readonly struct OutputValue
    {
        private readonly InferRequest _request;
        private readonly int _index;
        private readonly long _version;

        internal OutputValue(InferRequest request, int index, long version)
        {
            _request = request;
            _index = index;
            _version = version;
        }

        /// <summary>The output's name, type and declared shape.</summary>
        public TensorInfo Info => _request.OutputInfo(_index);

        /// <summary>The element type.</summary>
        public OnnxElementType ElementType => Info.ElementType;

        /// <summary>The actual shape of this run's output.</summary>
        public ReadOnlySpan<long> Shape => _request.OutputShape(_index, _version);

        /// <summary>Number of elements.</summary>
        public long ElementCount => _request.OutputElementCount(_index, _version);

        /// <summary>The raw bytes of a non-string output, in place.</summary>
        public ReadOnlySpan<byte> Bytes =>
            ElementType == OnnxElementType.String
                ? throw new InvalidOperationException($"Output '{Info.Name}' holds strings: use Strings.")
                : _request.OutputSpan<byte>(_index, _version, bytes: true);

        /// <summary>The strings of a string output (decoded once per run).</summary>
        public ReadOnlySpan<string> Strings => _request.OutputSpan<string>(_index, _version);

        /// <summary>The typed view of this output.</summary>
        public OutputTensor<T> As<T>() => _request.GetOutput<T>(_index, _version);
    }
}
