using System;
using System.Globalization;

namespace ModelSdk
{
    /// <summary>
    /// Works out the shapes of one run before anything reaches ONNX Runtime: each input's shape from its
    /// given shape or its length, the symbolic dims (given or inferred), and the shape of every output whose
    /// dims are fixed or named like an input's. Inconsistent inputs are rejected here with an error that names
    /// the input, the expected shape (with the symbols' values) and what was given. No native calls: a pure
    /// function of the signature and the run's inputs, reusing its arrays so repeated runs allocate nothing.
    /// </summary>
    internal sealed class ShapeResolver
    {
        private readonly ModelSignature _signature;
        private readonly long[] _symbols;          // this run's symbol values, -1 = unknown
        private readonly long[] _lengths;          // this run's element count per input
        private readonly bool[] _explicit;         // the input came with a shape of its own
        private readonly bool[] _resolved;
        private readonly long[][] _shapes;         // this run's input shapes
        private readonly long[] _resolvedLengths;  // lengths the current shapes were inferred from, when nothing else decided them
        private bool _symbolsGiven;
        private bool _anyExplicit;                 // some input of this run came with a shape
        private bool _reusable;                    // the current shapes follow from _resolvedLengths alone

        public ShapeResolver(ModelSignature signature)
        {
            _signature = signature;
            int inputs = signature.Inputs.Count;
            _symbols = new long[signature.SymbolCount];
            _symbols.AsSpan().Fill(-1);
            _lengths = new long[inputs];
            _explicit = new bool[inputs];
            _resolved = new bool[inputs];
            _shapes = new long[inputs][];
            _resolvedLengths = new long[inputs];
            for (int i = 0; i < inputs; i++)
            {
                TensorInfo info = signature.Inputs[i];
                _shapes[i] = new long[info.HasShape ? info.Rank : 1];
            }

            Clear();
        }

        /// <summary>Forgets this run's inputs and symbols (their values hold for one run only).</summary>
        public void Clear()
        {
            if (_symbolsGiven)
            {
                _symbols.AsSpan().Fill(-1);
                _symbolsGiven = false;
            }

            if (_anyExplicit)
            {
                _explicit.AsSpan().Clear();
                _anyExplicit = false;
            }
        }

        /// <summary>Gives the value of a symbolic dim for this run.</summary>
        public void GiveSymbol(int symbol, long value)
        {
            if ((uint)symbol >= (uint)_symbols.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(symbol), symbol, $"Model '{_signature.ModelName}' has {_symbols.Length} symbolic dims.");
            }

            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(_signature.ParameterOf(_signature.SymbolName(symbol)), value,
                    $"The symbolic dimension {_signature.Named(_signature.SymbolName(symbol))} of model '{_signature.ModelName}' can't be negative.");
            }

            if (!_symbolsGiven)
            {
                _symbols.AsSpan().Fill(-1); // values inferred by the last run don't count as given
                _symbolsGiven = true;
            }

            _symbols[symbol] = value;
        }

        /// <summary>Gives an input as flat data: its shape follows from the model's dims and its length.</summary>
        public void GiveLength(int input, long length)
        {
            _lengths[input] = length;
            if (_anyExplicit)
            {
                _explicit[input] = false;
            }
        }

        /// <summary>Gives an input with a shape of its own, which must agree with the model's.</summary>
        public void GiveShape(int input, long length, ReadOnlySpan<nint> shape)
        {
            TensorInfo info = _signature.Inputs[input];
            if (info.HasShape && shape.Length != info.Rank)
            {
                throw ModelErrors.InputShape(_signature, input,
                    $"it has {info.Rank} dimensions but the given tensor has {shape.Length} ({Format(shape)}).");
            }

            for (int d = 0; d < shape.Length; d++)
            {
                if (shape[d] < 0)
                {
                    throw ModelErrors.InputShape(_signature, input, $"the given shape {Format(shape)} has a negative dimension.");
                }
            }

            if (_shapes[input].Length != shape.Length)
            {
                _shapes[input] = new long[shape.Length]; // only for inputs without a declared rank
            }

            for (int d = 0; d < shape.Length; d++)
            {
                _shapes[input][d] = shape[d];
            }

            _lengths[input] = length;
            _explicit[input] = true;
            _anyExplicit = true;
        }

        /// <summary>
        /// Resolves every input's shape and checks it against its length. Returns false when nothing changed
        /// since the last call (same lengths, no shape or symbol given), so the caller can skip re-preparing outputs.
        /// </summary>
        /// <exception cref="ArgumentException">The inputs don't fit the model's shapes or each other.</exception>
        public bool Resolve()
        {
            bool flat = !_symbolsGiven && !_anyExplicit;
            if (flat && _reusable && SameLengthsAsResolved())
            {
                return false;
            }

            _reusable = false;
            if (!_symbolsGiven)
            {
                _symbols.AsSpan().Fill(-1);
            }

            _resolved.AsSpan().Clear();
            ResolveGivenShapes();
            InferSymbolsFromLengths();
            for (int i = 0; i < _lengths.Length; i++)
            {
                TensorInfo info = _signature.Inputs[i];
                if (!_explicit[i] && info.HasShape)
                {
                    FillShape(i);
                }

                long expected = ElementCount(i, _shapes[i]);
                if (OnnxElementTypes.StorageLength(info.ElementType, expected) != _lengths[i])
                {
                    throw OnnxElementTypes.IsPacked(info.ElementType)
                        ? ModelErrors.InputShape(_signature, i, $"{expected} elements take {OnnxElementTypes.StorageLength(info.ElementType, expected)} pairs (two 4-bit elements per value) but {_lengths[i]} were given.")
                        : ModelErrors.InputLength(_signature, i, InputShapeText(i), expected, _lengths[i]);
                }
            }

            if (flat)
            {
                _lengths.AsSpan().CopyTo(_resolvedLengths);
                _reusable = true;
            }

            return true;
        }

        private bool SameLengthsAsResolved()
        {
            for (int i = 0; i < _lengths.Length; i++)
            {
                if (_lengths[i] != _resolvedLengths[i])
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The shape of input <paramref name="input"/> for this run (after <see cref="Resolve"/>).</summary>
        public ReadOnlySpan<long> InputShape(int input) => _shapes[input];

        /// <summary>The value of a symbol for this run, or -1.</summary>
        public long SymbolValue(int symbol) => _symbols[symbol];

        /// <summary>True when output <paramref name="output"/>'s shape is known before the run (every dim fixed or an input's symbol).</summary>
        public bool IsPredictable(int output)
        {
            TensorInfo info = _signature.Outputs[output];
            if (!info.HasShape || !info.IsSupported || info.ElementType == OnnxElementType.String)
            {
                return false;
            }

            foreach (Dim dim in info.DimArray)
            {
                if (!dim.IsFixed && dim.SymbolIndex < 0)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Writes a predictable output's shape for this run; returns its element count.</summary>
        public long OutputShape(int output, Span<long> shape)
        {
            Dim[] dims = _signature.Outputs[output].DimArray;
            long count = 1;
            for (int d = 0; d < dims.Length; d++)
            {
                long value = dims[d].IsFixed ? dims[d].Value : _symbols[dims[d].SymbolIndex];
                shape[d] = value;
                count = TryMultiply(count, value, out long product) ? product : throw OutputTooLarge(output);
            }

            return count;
        }

        /// <summary>The model's declared shape of an output with this run's symbol values, e.g. <c>[batch=5, 4]</c>.</summary>
        public string OutputShapeText(int output) => ModelErrors.ShapeText(_signature.Outputs[output].Dims, _symbols);

        /// <summary>The model's declared shape of an input with this run's symbol values.</summary>
        public string InputShapeText(int input) => ModelErrors.ShapeText(_signature.Inputs[input].Dims, _symbols);

        private InvalidOperationException OutputTooLarge(int output) =>
            new InvalidOperationException($"Output '{_signature.Outputs[output].Name}' of model '{_signature.ModelName}' would have shape {OutputShapeText(output)}: more elements than fit in memory.");

        // Given shapes first: they fix symbols for every other input.
        private void ResolveGivenShapes()
        {
            for (int i = 0; i < _lengths.Length; i++)
            {
                TensorInfo info = _signature.Inputs[i];
                if (_explicit[i])
                {
                    for (int d = 0; d < info.Rank; d++)
                    {
                        Dim dim = info.DimArray[d];
                        long given = _shapes[i][d];
                        if (dim.IsFixed && given != dim.Value)
                        {
                            throw ModelErrors.InputShape(_signature, i, $"dimension {d} must be {dim.Value} but the given tensor has {given}.");
                        }

                        if (!dim.IsFixed)
                        {
                            ref long symbol = ref _symbols[dim.SymbolIndex];
                            if (symbol >= 0 && symbol != given)
                            {
                                string name = _signature.SymbolName(dim.SymbolIndex);
                                throw ModelErrors.InputShape(_signature, i, $"dimension {d} ({name}) is {given} in the given tensor but {name} = {symbol}.");
                            }

                            symbol = given;
                        }
                    }

                    _resolved[i] = true;
                }
                else if (!info.HasShape)
                {
                    _shapes[i][0] = Elements(i); // no declared shape and none given: a flat 1-D tensor
                    _resolved[i] = true;
                }
            }
        }

        // Flat inputs: infer one unknown symbol per input from its length; repeat while that makes progress.
        private void InferSymbolsFromLengths()
        {
            bool progress = true;
            while (progress)
            {
                progress = false;
                for (int i = 0; i < _lengths.Length; i++)
                {
                    if (!_resolved[i] && TryInferSymbol(i))
                    {
                        progress = true;
                    }
                }
            }
        }

        /// <summary>Infers the one unset symbol of a flat input from its length; false if it has none or several.</summary>
        private bool TryInferSymbol(int input)
        {
            int unknown = -1;
            long known = 1;
            foreach (Dim dim in _signature.Inputs[input].DimArray)
            {
                long value = dim.IsFixed ? dim.Value : _symbols[dim.SymbolIndex];
                if (value >= 0)
                {
                    known = TryMultiply(known, value, out long product) ? product : long.MaxValue;
                }
                else if (unknown == dim.SymbolIndex)
                {
                    return false; // the same symbol twice (e.g. [n, n]): not inferred from a length
                }
                else if (unknown < 0)
                {
                    unknown = dim.SymbolIndex;
                }
                else
                {
                    return false; // two unknown symbols: wait for another input to fix one
                }
            }

            if (unknown >= 0)
            {
                long elements = Elements(input);
                if (known == 0 || elements % known != 0)
                {
                    throw ModelErrors.InputShape(_signature, input,
                        $"{elements} elements can't be read as {InputShapeText(input)}: pass {Symbol(unknown)} explicitly or give a matching length.");
                }

                _symbols[unknown] = elements / known;
            }

            _resolved[input] = true;
            return true;
        }

        /// <summary>The elements a flat input's length holds; for packed 4-bit types, two per value given (an odd count needs its dims passed).</summary>
        private long Elements(int input) =>
            OnnxElementTypes.IsPacked(_signature.Inputs[input].ElementType) ? 2 * _lengths[input] : _lengths[input];

        /// <summary>A symbol as the caller passes it: <c>rows (the symbolic dimension 'batch')</c>, or <c>batch</c> when the names are the same.</summary>
        private string Symbol(int symbol)
        {
            string name = _signature.SymbolName(symbol);
            string parameter = _signature.ParameterOf(name);
            return parameter == name ? name : parameter + " (the symbolic dimension '" + name + "')";
        }

        private void FillShape(int input)
        {
            Dim[] dims = _signature.Inputs[input].DimArray;
            for (int d = 0; d < dims.Length; d++)
            {
                long value = dims[d].IsFixed ? dims[d].Value : _symbols[dims[d].SymbolIndex];
                if (value < 0)
                {
                    throw ModelErrors.InputShape(_signature, input,
                        $"the value of {Symbol(dims[d].SymbolIndex)} can't be inferred from the input lengths; pass it to Run.");
                }

                _shapes[input][d] = value;
            }
        }

        private long ElementCount(int input, long[] shape)
        {
            long count = 1;
            foreach (long d in shape)
            {
                if (!TryMultiply(count, d, out count))
                {
                    throw ModelErrors.InputShape(_signature, input, $"the shape {InputShapeText(input)} has more elements than fit in memory.");
                }
            }

            return count;
        }

        /// <summary>The product of two dims (both non-negative); false when it does not fit a long. A multiply, no division.</summary>
        internal static bool TryMultiply(long a, long b, out long product)
        {
            ulong high = Math.BigMul((ulong)a, (ulong)b, out ulong low);
            product = (long)low;
            return high == 0 && low <= long.MaxValue;
        }

        private static string Format(ReadOnlySpan<nint> shape)
        {
            var parts = new string[shape.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
            }

            return "[" + string.Join(", ", parts) + "]";
        }
    }
}
