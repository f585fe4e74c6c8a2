using System;
using System.Numerics.Tensors;

namespace ModelSdk
{
    /// <summary>
    /// A view of one output of one run: no copy is made until you ask for one. It stays valid until
    /// the request that produced it runs again (or is disposed); reading it after that throws
    /// <see cref="InvalidOperationException"/> instead of returning another run's data.
    /// </summary>
    /// <typeparam name="T">The output's element type.</typeparam>
    public readonly struct OutputTensor<T>
    {
        private readonly InferRequest _request;
        private readonly int _index;
        private readonly long _version;

        internal OutputTensor(InferRequest request, int index, long version)
        {
            _request = request;
            _index = index;
            _version = version;
        }

        /// <summary>The output's ONNX name.</summary>
        public string Name => _request.OutputInfo(_index).Name;

        /// <summary>The elements, read in place from the request's buffer.</summary>
        public ReadOnlySpan<T> Span => _request.OutputSpan<T>(_index, _version);

        /// <summary>The actual shape of this run's output (symbolic dims resolved).</summary>
        public ReadOnlySpan<long> Shape => _request.OutputShape(_index, _version);

        /// <summary>Number of elements.</summary>
        public int Length => checked((int)_request.OutputElementCount(_index, _version));

        /// <summary>True while the view still holds its run's data (the request has not run again).</summary>
        public bool IsValid => _request != null && _request.Version == _version && !_request.IsDisposed;

        /// <summary>One element (flat, row-major index).</summary>
        public T this[int index] => Span[index];

        /// <summary>The elements as a span (checked for staleness when converted).</summary>
        public static implicit operator ReadOnlySpan<T>(OutputTensor<T> output) => output.Span;

        /// <summary>Copies the elements into a new array you own.</summary>
        public T[] ToArray() => Span.ToArray();

        /// <summary>Copies the elements into <paramref name="destination"/>.</summary>
        /// <exception cref="ArgumentException">The destination is shorter than the output.</exception>
        public void CopyTo(Span<T> destination)
        {
            ReadOnlySpan<T> source = Span;
            if (destination.Length < source.Length)
            {
                throw new ArgumentException(
                    $"The destination has {destination.Length} elements but output '{Name}' has {source.Length}.", nameof(destination));
            }

            source.CopyTo(destination);
        }

        /// <summary>Copies the output into a new <see cref="Tensor{T}"/> with its shape.</summary>
        public Tensor<T> ToTensor()
        {
            ReadOnlySpan<long> shape = Shape;
            var lengths = new nint[shape.Length];
            for (int i = 0; i < lengths.Length; i++)
            {
                lengths[i] = checked((nint)shape[i]);
            }

            return Tensor.Create(ToArray(), lengths);
        }

        /// <summary>e.g. <c>probabilities [1, 10]</c>.</summary>
        public override string ToString() => IsValid ? $"{Name} [{string.Join(", ", Shape.ToArray())}]" : "(stale output view)";
    }
}
