using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace ModelSdk
{
    /// <summary>
    /// A tensor in managed memory: an element of a sequence, an optional's value, or an input built for one.
    /// Read from a model it is a copy that belongs to the caller (no lifetime rule); created by a caller it is
    /// copied into ONNX Runtime when the run starts.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    public sealed class OnnxTensor<T>
    {
        private readonly T[] _data;
        private readonly long[] _shape;

        /// <summary>A 1-D tensor over <paramref name="data"/> (not copied).</summary>
        /// <param name="data">The elements.</param>
        public OnnxTensor(T[] data)
            : this(data, new long[] { (data ?? throw new ArgumentNullException(nameof(data))).Length })
        {
        }

        /// <summary>A tensor over <paramref name="data"/> (not copied) with <paramref name="shape"/> (none: a scalar).</summary>
        /// <param name="data">The elements, row-major.</param>
        /// <param name="shape">The dims; their product must be <paramref name="data"/>'s length.</param>
        /// <exception cref="ArgumentException">The shape has a negative dim or does not hold exactly the data's elements.</exception>
        public OnnxTensor(T[] data, params long[] shape)
        {
            _data = data ?? throw new ArgumentNullException(nameof(data));
            _shape = (long[])(shape ?? throw new ArgumentNullException(nameof(shape))).Clone();
            long count = 1;
            foreach (long dim in _shape)
            {
                if (dim < 0)
                {
                    throw new ArgumentException($"Shape [{string.Join(", ", _shape)}] has a negative dimension.", nameof(shape));
                }

                if (count >= 0 && !ShapeResolver.TryMultiply(count, dim, out count))
                {
                    count = -1; // more than a long holds: reported below
                }
            }

            long length = count < 0 ? -1 : OnnxElementTypes.StorageLength(ElementTypeOf<T>.Value, count); // packed 4-bit types: pairs
            if (length != data.Length)
            {
                throw new ArgumentException($"Shape [{string.Join(", ", _shape)}] holds {(count < 0 ? "too many" : count.ToString(CultureInfo.InvariantCulture))} elements " +
                                            (length != count && count >= 0 ? $"({length} pairs) " : string.Empty) + $"but the data has {data.Length}.", nameof(shape));
            }
        }

        /// <summary>A scalar (rank 0) tensor.</summary>
        public static OnnxTensor<T> Scalar(T value) => new OnnxTensor<T>(Array.Empty<long>(), new[] { value });

        // Data and shape already consistent (read from ONNX Runtime): kept as they are.
        private OnnxTensor(long[] shape, T[] data)
        {
            _shape = shape;
            _data = data;
        }

        internal static OnnxTensor<T> Adopt(T[] data, long[] shape) => new OnnxTensor<T>(shape, data);

        /// <summary>The dims.</summary>
        public IReadOnlyList<long> Shape => _shape;

        /// <summary>The elements, row-major.</summary>
        public ReadOnlyMemory<T> Data => _data;

        /// <summary>The elements, row-major.</summary>
        [JsonIgnore]
        public ReadOnlySpan<T> Span => _data;

        /// <summary>Number of elements.</summary>
        [JsonIgnore]
        public int Length => _data.Length;

        internal long[] ShapeArray => _shape;

        internal T[] Elements => _data;

        /// <summary>A copy of the elements.</summary>
        public T[] ToArray() => (T[])_data.Clone();

        /// <summary>e.g. <c>tensor [2, 3]</c>.</summary>
        public override string ToString() => "tensor [" + string.Join(", ", _shape) + "]";
    }

    /// <summary>A sequence read from a model (<c>seq(...)</c>): a read-only list that belongs to the caller.</summary>
    /// <typeparam name="T">The element type: <see cref="OnnxTensor{T}"/> or <see cref="OnnxMap{TKey, TValue}"/>.</typeparam>
    public sealed class OnnxSequence<T> : IReadOnlyList<T>
    {
        private readonly T[] _items;

        internal OnnxSequence(T[] items) => _items = items;

        /// <summary>Number of elements.</summary>
        public int Count => _items.Length;

        /// <summary>Element <paramref name="index"/>.</summary>
        public T this[int index] => _items[index];

        /// <summary>The elements, without copying.</summary>
        [JsonIgnore]
        public ReadOnlySpan<T> Span => _items;

        /// <inheritdoc/>
        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
    }

    /// <summary>
    /// A map read from a model (<c>map(K, V)</c>, e.g. one row of a ZipMap: class label -&gt; probability): a read-only
    /// dictionary that belongs to the caller, in the order ONNX Runtime gives (keys ascending). <see cref="Keys"/> and
    /// <see cref="Values"/> are spans, so scanning it allocates nothing.
    /// </summary>
    /// <typeparam name="TKey"><see cref="long"/> or <see cref="string"/>.</typeparam>
    /// <typeparam name="TValue"><see cref="float"/>, <see cref="double"/>, <see cref="long"/> or <see cref="string"/>.</typeparam>
#pragma warning disable CS8714 // keys are int64 or strings from ONNX Runtime, never null; IReadOnlyDictionary does not constrain them
    public sealed class OnnxMap<TKey, TValue> : IReadOnlyDictionary<TKey, TValue>
    {
        private readonly TKey[] _keys;
        private readonly TValue[] _values;
        private Dictionary<TKey, int>? _index; // built on the first lookup of a large map

        internal OnnxMap(TKey[] keys, TValue[] values)
        {
            _keys = keys;
            _values = values;
        }

        /// <summary>Number of entries.</summary>
        public int Count => _keys.Length;

        /// <summary>The keys, in order.</summary>
        [JsonIgnore]
        public ReadOnlySpan<TKey> Keys => _keys;

        /// <summary>The values, in the keys' order.</summary>
        [JsonIgnore]
        public ReadOnlySpan<TValue> Values => _values;

        IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => _keys;

        IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => _values;

        /// <summary>The value of <paramref name="key"/>.</summary>
        /// <exception cref="KeyNotFoundException">The map has no such key.</exception>
        public TValue this[TKey key]
        {
            get
            {
                int index = IndexOf(key);
                return index >= 0
                    ? _values[index]
                    : throw new KeyNotFoundException($"The map has no key '{key}' (it has {_keys.Length} keys{(_keys.Length > 0 ? ", from '" + _keys[0] + "'" : string.Empty)}).");
            }
        }

        /// <inheritdoc/>
        public bool ContainsKey(TKey key) => IndexOf(key) >= 0;

        /// <inheritdoc/>
        public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
        {
            int index = IndexOf(key);
            if (index < 0)
            {
                value = default;
                return false;
            }

            value = _values[index];
            return true;
        }

        private int IndexOf(TKey key)
        {
            if (_keys.Length <= 16)
            {
                for (int i = 0; i < _keys.Length; i++)
                {
                    if (EqualityComparer<TKey>.Default.Equals(_keys[i], key))
                    {
                        return i;
                    }
                }

                return -1;
            }

            Dictionary<TKey, int> index = _index ??= BuildIndex();
            return index.TryGetValue(key, out int found) ? found : -1;
        }

        private Dictionary<TKey, int> BuildIndex()
        {
            var index = new Dictionary<TKey, int>(_keys.Length);
            for (int i = 0; i < _keys.Length; i++)
            {
                index.TryAdd(_keys[i], i);
            }

            return index;
        }

        /// <inheritdoc/>
        public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
        {
            for (int i = 0; i < _keys.Length; i++)
            {
                yield return new KeyValuePair<TKey, TValue>(_keys[i], _values[i]);
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
#pragma warning restore CS8714
}
