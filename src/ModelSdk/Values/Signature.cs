using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ModelSdk
{
    /// <summary>One dimension of a tensor shape: fixed, symbolic (named, e.g. <c>batch</c>) or unknown.</summary>
    public readonly struct Dim : IEquatable<Dim>
    {
        private Dim(long value, string? name, int symbolIndex)
        {
            Value = value;
            Name = name;
            SymbolIndex = symbolIndex;
        }

        /// <summary>The fixed size, or -1 when the dimension is symbolic or unknown.</summary>
        public long Value { get; }

        /// <summary>The symbolic name (ONNX <c>dim_param</c>), or null.</summary>
        public string? Name { get; }

        /// <summary>
        /// Index of this dimension's symbol in the model's <see cref="ModelSignature"/> (dims with the
        /// same name share it), or -1 for fixed dims and for output dims no input determines.
        /// </summary>
        public int SymbolIndex { get; }

        /// <summary>True when the size is fixed by the model.</summary>
        public bool IsFixed => Value >= 0;

        /// <summary>An unknown dimension (neither a size nor a name).</summary>
        public static Dim Unknown => new Dim(-1, null, -1);

        /// <summary>A fixed dimension.</summary>
        public static Dim Fixed(long value) =>
            value >= 0 ? new Dim(value, null, -1) : throw new ArgumentOutOfRangeException(nameof(value), value, "A fixed dimension can't be negative.");

        /// <summary>A symbolic dimension.</summary>
        public static Dim Symbolic(string name) =>
            new Dim(-1, string.IsNullOrEmpty(name) ? null : name, -1);

        internal Dim WithSymbol(int index) => new Dim(Value, Name, index);

        /// <inheritdoc/>
        public bool Equals(Dim other) => Value == other.Value && Name == other.Name && SymbolIndex == other.SymbolIndex;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Dim other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(Value, Name, SymbolIndex);

        /// <summary>The size, the name, or <c>?</c>.</summary>
        public override string ToString() => IsFixed ? Value.ToString(CultureInfo.InvariantCulture) : Name ?? "?";
    }

    /// <summary>The name, element type and shape of one model input or output.</summary>
    public sealed class TensorInfo
    {
        private readonly Dim[] _dims;

        /// <summary>Describes a tensor input or output.</summary>
        /// <param name="name">The ONNX name.</param>
        /// <param name="elementType">The element type.</param>
        /// <param name="dims">The dims, or null when the model does not give a shape.</param>
        public TensorInfo(string name, OnnxElementType elementType, Dim[]? dims)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            ElementType = elementType;
            HasShape = dims != null;
            _dims = dims ?? Array.Empty<Dim>();
            Type = OnnxType.Tensor(elementType);
            IsTensor = true;
            IsSupported = Type.IsSupported;
            TypeDescription = Type.ToString();
        }

        /// <summary>Describes an input or output of any type: a sequence, a map, an optional (or a tensor of unknown shape).</summary>
        /// <param name="name">The ONNX name.</param>
        /// <param name="type">Its full type.</param>
        public TensorInfo(string name, OnnxType type)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Type = type ?? throw new ArgumentNullException(nameof(type));
            IsTensor = type.Kind == OnnxValueKind.Tensor;
            ElementType = type.Kind == OnnxValueKind.Tensor ? type.ElementType : OnnxElementType.Undefined;
            _dims = Array.Empty<Dim>();
            IsSupported = type.IsSupported;
            TypeDescription = type.ToString();
        }

        private TensorInfo(string name, string typeDescription)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            _dims = Array.Empty<Dim>();
            Type = OnnxType.Other(OnnxValueKind.Unknown);
            TypeDescription = typeDescription;
        }

        private TensorInfo(TensorInfo source, Dim[] dims)
        {
            Name = source.Name;
            ElementType = source.ElementType;
            HasShape = source.HasShape;
            IsSupported = source.IsSupported;
            TypeDescription = source.TypeDescription;
            Type = source.Type;
            IsTensor = source.IsTensor;
            _dims = dims;
        }

        /// <summary>Describes an input or output whose type ModelSdk can't pass (sparse tensors, opaque values, ...).</summary>
        public static TensorInfo Unsupported(string name, string typeDescription) => new TensorInfo(name, typeDescription);

        /// <summary>The full type, e.g. <c>tensor(float)</c> or <c>seq(map(int64,tensor(float)))</c>.</summary>
        public OnnxType Type { get; }

        /// <summary>Tensor, sequence, map or optional.</summary>
        public OnnxValueKind Kind => Type.Kind;

        /// <summary>True for tensors: values ModelSdk reads in place (other kinds are decoded into managed objects). A field: runs read it per input.</summary>
        internal readonly bool IsTensor;

        /// <summary>The ONNX name.</summary>
        public string Name { get; }

        /// <summary>The element type (Undefined for non-tensor values).</summary>
        public OnnxElementType ElementType { get; }

        /// <summary>False when the model does not declare the shape (the rank is unknown).</summary>
        public bool HasShape { get; }

        /// <summary>The dims (empty when <see cref="HasShape"/> is false).</summary>
        public IReadOnlyList<Dim> Dims => _dims;

        internal Dim[] DimArray => _dims;

        /// <summary>Number of dims.</summary>
        public int Rank => _dims.Length;

        /// <summary>True when ModelSdk can pass values of this type.</summary>
        public bool IsSupported { get; }

        /// <summary>ONNX-style type text, e.g. <c>tensor(float)</c> or <c>seq(tensor(float))</c>.</summary>
        public string TypeDescription { get; }

        /// <summary>The element count when every dim is fixed; otherwise -1.</summary>
        public long FixedElementCount
        {
            get
            {
                if (!HasShape || _dims.Any(d => !d.IsFixed))
                {
                    return -1;
                }

                long count = 1;
                foreach (Dim d in _dims)
                {
                    count = checked(count * d.Value);
                }

                return count;
            }
        }

        internal TensorInfo WithDims(Dim[] dims) => new TensorInfo(this, dims);

        /// <summary>The shape as text, e.g. <c>[batch, 64]</c>.</summary>
        public string ShapeText => HasShape ? "[" + string.Join(", ", _dims.Select(d => d.ToString())) + "]" : "[?]";

        /// <summary>e.g. <c>pixels: float [1, 64]</c>.</summary>
        public override string ToString() =>
            IsSupported && IsTensor ? Name + ": " + OnnxElementTypes.OnnxName(ElementType) + " " + ShapeText : Name + ": " + TypeDescription;
    }

    /// <summary>
    /// A model's inputs and outputs. Symbolic dims are numbered here, once: dims with the same name
    /// share a symbol, every unknown input dim gets its own, and output dims refer to input symbols
    /// where the names match (so their size is known before the run).
    /// </summary>
    public sealed class ModelSignature
    {
        private readonly TensorInfo[] _inputs;
        private readonly TensorInfo[] _outputs;
        private readonly string[] _symbolNames;

        /// <summary>Creates a signature and numbers its symbolic dims.</summary>
        public ModelSignature(string modelName, TensorInfo[] inputs, TensorInfo[] outputs)
            : this(modelName, inputs, outputs, null)
        {
        }

        /// <summary>Creates a signature whose errors also name the C# parameters of the generated methods.</summary>
        /// <param name="modelName">The model's name (the generated class name).</param>
        /// <param name="inputs">The inputs a caller provides.</param>
        /// <param name="outputs">The outputs.</param>
        /// <param name="parameterNames">ONNX input and symbolic dim names to the C# parameters that take them (where they differ); null for none.</param>
        public ModelSignature(string modelName, TensorInfo[] inputs, TensorInfo[] outputs, IReadOnlyDictionary<string, string>? parameterNames)
        {
            ModelName = modelName ?? throw new ArgumentNullException(nameof(modelName));
            _parameterNames = parameterNames;
            var symbols = new Dictionary<string, int>(StringComparer.Ordinal);
            var names = new List<string>();
            _inputs = new TensorInfo[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                Dim[] dims = (Dim[])inputs[i].DimArray.Clone();
                for (int d = 0; d < dims.Length; d++)
                {
                    if (dims[d].IsFixed)
                    {
                        continue;
                    }

                    string? name = dims[d].Name;
                    if (name is null || !symbols.TryGetValue(name, out int index))
                    {
                        index = names.Count;
                        names.Add(name ?? inputs[i].Name + "[" + d.ToString(CultureInfo.InvariantCulture) + "]");
                        if (name != null)
                        {
                            symbols.Add(name, index);
                        }
                    }

                    dims[d] = dims[d].WithSymbol(index);
                }

                _inputs[i] = inputs[i].WithDims(dims);
            }

            _outputs = new TensorInfo[outputs.Length];
            for (int i = 0; i < outputs.Length; i++)
            {
                Dim[] dims = (Dim[])outputs[i].DimArray.Clone();
                for (int d = 0; d < dims.Length; d++)
                {
                    if (!dims[d].IsFixed && dims[d].Name is string name && symbols.TryGetValue(name, out int index))
                    {
                        dims[d] = dims[d].WithSymbol(index);
                    }
                }

                _outputs[i] = outputs[i].WithDims(dims);
            }

            _symbolNames = names.ToArray();
        }

        private readonly IReadOnlyDictionary<string, string>? _parameterNames;

        /// <summary>The model's name (the generated class name).</summary>
        public string ModelName { get; }

        /// <summary>The C# parameter that takes an ONNX input or symbolic dim, or the ONNX name when they are the same.</summary>
        internal string ParameterOf(string onnxName) =>
            _parameterNames != null && _parameterNames.TryGetValue(onnxName, out string? parameter) ? parameter : onnxName;

        /// <summary>e.g. <c>'features' (parameter values)</c>, or <c>'x'</c> when the names are the same.</summary>
        internal string Named(string onnxName)
        {
            string parameter = ParameterOf(onnxName);
            return parameter == onnxName ? "'" + onnxName + "'" : "'" + onnxName + "' (parameter " + parameter + ")";
        }

        /// <summary>The graph inputs a caller provides (initializers excluded), in graph order.</summary>
        public IReadOnlyList<TensorInfo> Inputs => _inputs;

        /// <summary>The graph outputs, in graph order.</summary>
        public IReadOnlyList<TensorInfo> Outputs => _outputs;

        /// <summary>Number of distinct symbolic or unknown input dims.</summary>
        public int SymbolCount => _symbolNames.Length;

        /// <summary>The name of a symbol (for unknown dims: <c>input[dim]</c>).</summary>
        public string SymbolName(int index) => _symbolNames[index];

        /// <summary>The index of the input with this ONNX name, or -1.</summary>
        public int IndexOfInput(string name) => Array.FindIndex(_inputs, t => t.Name == name);

        /// <summary>The index of the output with this ONNX name, or -1.</summary>
        public int IndexOfOutput(string name) => Array.FindIndex(_outputs, t => t.Name == name);

        /// <summary>A multi-line description of the inputs and outputs.</summary>
        public override string ToString()
        {
            var builder = new StringBuilder(ModelName).Append('\n');
            foreach (TensorInfo input in _inputs)
            {
                builder.Append("  input  ").Append(input).Append('\n');
            }

            foreach (TensorInfo output in _outputs)
            {
                builder.Append("  output ").Append(output).Append('\n');
            }

            return builder.ToString();
        }
    }
}
