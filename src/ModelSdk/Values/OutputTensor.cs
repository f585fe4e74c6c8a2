using System;
using System.Numerics.Tensors;
using System.Text.Json.Serialization;

namespace ModelSdk
{
    /// <summary>
    /// A view of one output of one run: nothing is copied until you ask for a copy. Reading it after its run
    /// is over (the request ran again, the owned result was disposed, the model was disposed) throws
    /// <see cref="InvalidOperationException"/> instead of returning other data; copies (<see cref="ToArray"/>,
    /// <see cref="CopyTo"/>, <see cref="ToTensor"/>) are checked before and after, so they never mix two runs.
    /// Serialized by System.Text.Json as nested arrays following its shape.
    /// </summary>
    /// <remarks>
    /// <see cref="Span"/> is the one unchecked access: a raw span kept past the next run of the request that
    /// produced it reads that run's data (the memory itself stays valid: it is managed and the span keeps it alive).
    /// Copy what you keep.
    /// </remarks>
    /// <typeparam name="T">The output's element type.</typeparam>
    [JsonConverter(typeof(OutputTensorJsonConverterFactory))]
    public readonly struct OutputTensor<T>
    {
        private readonly OutputSet _set;
        private readonly int _index;
        private readonly long _version;

        internal OutputTensor(OutputSet set, int index, long version)
        {
            _set = set;
            _index = index;
            _version = version;
        }

        /// <summary>The output's ONNX name.</summary>
        public string Name => _set.Signature.Outputs[_index].Name;

        /// <summary>
        /// The elements, in place. Checked when taken; a span kept past the next run of the same request reads
        /// that run's data (see remarks).
        /// </summary>
        public ReadOnlySpan<T> Span => _set.Span<T>(_index, _version);

        /// <summary>The actual shape of this run's output (symbolic dims resolved).</summary>
        public ReadOnlySpan<long> Shape => _set.Produced(_index, _version).Shape;

        /// <summary>Number of elements (for the packed 4-bit types, <see cref="Span"/> holds (Length + 1) / 2 pairs).</summary>
        public int Length => checked((int)_set.Produced(_index, _version).ElementCount);

        /// <summary>True while the view still holds its run's data.</summary>
        public bool IsValid => _set != null && _set.Version == _version;

        /// <summary>One element (flat, row-major index), checked against the run.</summary>
        public T this[int index]
        {
            get
            {
                T value = _set.Span<T>(_index, _version)[index];
                _set.CheckStillFresh(_index, _version);
                return value;
            }
        }

        /// <summary>The elements as a span (checked when converted; see <see cref="Span"/>).</summary>
        public static implicit operator ReadOnlySpan<T>(OutputTensor<T> output) => output.Span;

        /// <summary>Copies the elements into a new array you own.</summary>
        public T[] ToArray()
        {
            T[] copy = _set.Span<T>(_index, _version).ToArray();
            _set.CheckStillFresh(_index, _version);
            return copy;
        }

        /// <summary>Copies the elements into <paramref name="destination"/>.</summary>
        /// <exception cref="ArgumentException">The destination is shorter than the output.</exception>
        public void CopyTo(Span<T> destination)
        {
            ReadOnlySpan<T> source = _set.Span<T>(_index, _version);
            if (destination.Length < source.Length)
            {
                throw new ArgumentException(
                    $"The destination has {destination.Length} elements but output '{Name}' has {source.Length}.", nameof(destination));
            }

            source.CopyTo(destination);
            _set.CheckStillFresh(_index, _version);
        }

        /// <summary>Copies the output into a new <see cref="Tensor{T}"/> with its shape.</summary>
        /// <exception cref="NotSupportedException">The output holds packed 4-bit elements (two per value): use <see cref="ToArray"/> and the pair type's Unpack.</exception>
        public Tensor<T> ToTensor()
        {
            if (OnnxElementTypes.IsPacked(ElementTypeOf<T>.Value))
            {
                throw new NotSupportedException($"Output '{Name}' holds 4-bit elements packed two per {typeof(T).Name}: a Tensor<{typeof(T).Name}> can't have its shape. Use ToArray() and {typeof(T).Name}.Unpack.");
            }

            long[] shape = Shape.ToArray();
            T[] data = ToArray();
            var lengths = new nint[shape.Length];
            for (int i = 0; i < lengths.Length; i++)
            {
                lengths[i] = checked((nint)shape[i]);
            }

            return Tensor.Create(data, lengths);
        }

        /// <summary>e.g. <c>probabilities [1, 10]</c>.</summary>
        public override string ToString() => IsValid ? $"{Name} [{string.Join(", ", Shape.ToArray())}]" : "(stale output view)";
    }

    /// <summary>
    /// A view of one output of a synchronous run (<c>model.Run</c>, a request's <c>Result</c>): like
    /// <see cref="OutputTensor{T}"/>, but a <c>ref struct</c>, so the compiler keeps it out of fields, lambdas
    /// and <c>await</c>s: it can't outlive the synchronous code that ran the model. Copy what you keep
    /// (<see cref="ToArray"/>), or use <c>RunAsync</c>, whose result you own.
    /// </summary>
    /// <typeparam name="T">The output's element type.</typeparam>
    [SynchronousView]
    public readonly ref struct OutputSpan<T>
    {
        private readonly OutputTensor<T> _view;

        internal OutputSpan(OutputTensor<T> view) => _view = view;

        /// <summary>The output's ONNX name.</summary>
        public string Name => _view.Name;

        /// <summary>The elements, in place (checked when taken; a span kept past the next run reads that run's data).</summary>
        public ReadOnlySpan<T> Span => _view.Span;

        /// <summary>The actual shape of this run's output (symbolic dims resolved).</summary>
        public ReadOnlySpan<long> Shape => _view.Shape;

        /// <summary>Number of elements.</summary>
        public int Length => _view.Length;

        /// <summary>True while the view still holds its run's data.</summary>
        public bool IsValid => _view.IsValid;

        /// <summary>One element (flat, row-major index), checked against the run.</summary>
        public T this[int index] => _view[index];

        /// <summary>The elements as a span (checked when converted).</summary>
        public static implicit operator ReadOnlySpan<T>(OutputSpan<T> output) => output._view.Span;

        /// <summary>Copies the elements into a new array you own.</summary>
        public T[] ToArray() => _view.ToArray();

        /// <summary>Copies the elements into <paramref name="destination"/>.</summary>
        public void CopyTo(Span<T> destination) => _view.CopyTo(destination);

        /// <summary>Copies the output into a new <see cref="Tensor{T}"/> with its shape.</summary>
        public Tensor<T> ToTensor() => _view.ToTensor();

        /// <summary>The same view as an <see cref="OutputTensor{T}"/> (for APIs that take one; same lifetime rule).</summary>
        internal OutputTensor<T> View => _view;

        /// <summary>e.g. <c>probabilities [1, 10]</c>.</summary>
        public override string ToString() => _view.ToString();
    }

    /// <summary>
    /// Marks a <c>ref struct</c> that views a synchronous run (valid until the next run on the same thread).
    /// ModelSdk's analyzer reports MSDK0007 when such a view is returned from or passed to a generic delegate,
    /// the one way (through <c>allows ref struct</c>) it could escape to code that runs later, such as an
    /// ASP.NET Core endpoint's result serializer.
    /// </summary>
    [AttributeUsage(AttributeTargets.Struct, Inherited = false)]
    public sealed class SynchronousViewAttribute : Attribute
    {
    }
}
