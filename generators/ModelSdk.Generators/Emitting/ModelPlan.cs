using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ModelSdk.Generators.Model;

namespace ModelSdk.Generators.Emitting
{
    /// <summary>One graph input as the generated API exposes it.</summary>
    internal sealed class InputPlan
    {
        public InputPlan(int index, ValueSpec value, string parameterName, string shapeClassName)
        {
            Index = index;
            Value = value;
            ParameterName = parameterName;
            ShapeClassName = shapeClassName;
        }

        public int Index { get; }

        public ValueSpec Value { get; }

        public string ParameterName { get; }

        public string ShapeClassName { get; }

        /// <summary>A tensor input's element type; null for other kinds and unsupported types.</summary>
        public string? CSharpType => ModelPlan.SupportedCSharpType(Value.Type);

        /// <summary>A sequence, map or optional input's C# type (with <c>?</c> for an optional); null for tensors and unsupported types.</summary>
        public string? ValueType => ValueTypes.IsValue(Value.Type)
            ? ValueTypes.InputType(Value.Type) + (ValueTypes.IsOptional(Value.Type) ? "?" : string.Empty)
            : null;

        /// <summary>True when the generated methods take this input.</summary>
        public bool IsExpressible => CSharpType != null || ValueType != null;

        /// <summary>How a synchronous run passes it on to the runtime (an <c>InputArg</c>).</summary>
        public string Argument => ValueType != null ? "global::ModelSdk.InputArg.FromValue(" + ParameterName + ")" : ParameterName;
    }

    /// <summary>One graph output as the generated API exposes it.</summary>
    internal sealed class OutputPlan
    {
        public OutputPlan(int index, ValueSpec value, string propertyName)
        {
            Index = index;
            Value = value;
            PropertyName = propertyName;
        }

        public int Index { get; }

        public ValueSpec Value { get; }

        public string PropertyName { get; }

        /// <summary>A tensor output's element type; null for other kinds and unsupported types.</summary>
        public string? CSharpType => ModelPlan.SupportedCSharpType(Value.Type);

        /// <summary>A sequence, map or optional output's C# type (without <c>?</c>); null for tensors and unsupported types.</summary>
        public string? ValueType => ValueTypes.IsValue(Value.Type) ? ValueTypes.OutputType(Value.Type) : null;

        /// <summary>True when the generated result reads this output.</summary>
        public bool IsExpressible => CSharpType != null || ValueType != null;
    }

    /// <summary>A symbolic (or unknown) input dimension that becomes an optional parameter of Run.</summary>
    internal sealed class SymbolPlan
    {
        public SymbolPlan(string displayName, string parameterName, int inputIndex, int dimIndex)
        {
            DisplayName = displayName;
            ParameterName = parameterName;
            InputIndex = inputIndex;
            DimIndex = dimIndex;
        }

        public string DisplayName { get; }

        public string ParameterName { get; }

        /// <summary>Where the symbol first appears; the runtime's signature numbers symbols, we only point at one.</summary>
        public int InputIndex { get; }

        public int DimIndex { get; }
    }

    /// <summary>The C# names chosen for a model's inputs, outputs and symbolic dims, all unique and valid.</summary>
    internal sealed class ModelPlan
    {
        // Members of the generated Result and OwnedResult types (and their bases, and object) that an output property must not shadow.
        private static readonly string[] ReservedResultMembers =
        {
            "Result", "OwnedResult", "ItemResult", "Batcher", "ModelSignature", "Dispose", "ToOwned", "GetOutput",
            "Equals", "GetHashCode", "ToString", "GetType", "MemberwiseClone", "Finalize",

            // The generated Outputs flags enum (its members are the output properties' names) and its members.
            "Outputs", "None", "All",
        };

        // Names used inside the generated Inputs class.
        private static readonly string[] ReservedShapeClassNames = { "Inputs" };

        // Locals and members the generated Run body uses, which parameters must not collide with.
        private static readonly string[] ReservedParameterNames =
        {
            "request", "job", "s_signature", "outputs", "userdata", "cancellationToken", "destination", "symbols", "item",
        };

        private ModelPlan(ModelClass model, List<InputPlan> inputs, List<OutputPlan> outputs, List<SymbolPlan> symbols)
        {
            Model = model;
            Inputs = inputs;
            Outputs = outputs;
            Symbols = symbols;
        }

        public ModelClass Model { get; }

        public IReadOnlyList<InputPlan> Inputs { get; }

        public IReadOnlyList<OutputPlan> Outputs { get; }

        public IReadOnlyList<SymbolPlan> Symbols { get; }

        /// <summary>The dim a generated Batcher batches along; null when the model can't be batched.</summary>
        public string? BatchDim => Model.BatchDim;

        /// <summary>Output selection is a ulong flags enum: one bit per output.</summary>
        public bool HasOutputSelection => Outputs.Count <= 63;

        /// <summary>The outputs selected by default: all that ModelSdk can read (or all, when it can read none).</summary>
        public IEnumerable<OutputPlan> DefaultOutputs =>
            Outputs.Any(o => o.IsExpressible) ? Outputs.Where(o => o.IsExpressible) : Outputs;

        /// <summary>A tensor's element type in C#; null for other kinds and element types ModelSdk has no C# type for.</summary>
        public static string? SupportedCSharpType(TypeSpec type) =>
            type.Kind == ValueKind.Tensor ? ElementTypes.CSharpType(type.ElementType) : null;

        /// <summary>True when the generated API can pass values of this type (tensors, sequences, maps, optionals).</summary>
        public static bool IsExpressible(TypeSpec type) => SupportedCSharpType(type) != null || ValueTypes.IsValue(type);

        public static ModelPlan Create(ModelClass model)
        {
            System.Collections.Generic.Dictionary<string, string> renames = Renames.Parse(model.Request.Rename);
            string Renamed(string onnxName) => renames.TryGetValue(onnxName, out string? name) ? name : onnxName;
            var parameterNames = new UniqueNames(ReservedParameterNames);
            var shapeNames = new UniqueNames(ReservedShapeClassNames);
            var inputs = new List<InputPlan>();
            for (int i = 0; i < model.Spec.Inputs.Count; i++)
            {
                ValueSpec value = model.Spec.Inputs[i];
                string fallback = "input" + i.ToString(CultureInfo.InvariantCulture);
                inputs.Add(new InputPlan(
                    i,
                    value,
                    parameterNames.Add(CSharpText.ToCamelIdentifier(Renamed(value.Name), fallback)),
                    shapeNames.Add(ShapeClassName(Renamed(value.Name), i))));
            }

            // Symbolic dims become optional Run parameters, one per distinct dim_param, named after it.
            var symbols = new List<SymbolPlan>();
            var seen = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (InputPlan input in inputs)
            {
                if (input.CSharpType is null || !input.Value.Type.HasShape)
                {
                    continue;
                }

                for (int d = 0; d < input.Value.Type.Dims.Count; d++)
                {
                    DimSpec dim = input.Value.Type.Dims[d];
                    if (dim.IsFixed || (dim.Param != null && !seen.Add(dim.Param)))
                    {
                        continue;
                    }

                    string dimText = "dim" + d.ToString(CultureInfo.InvariantCulture);
                    string display = dim.Param ?? input.Value.Name + "[" + d.ToString(CultureInfo.InvariantCulture) + "]";
                    string raw = dim.Param != null ? Renamed(dim.Param) : StripAt(input.ParameterName) + "_" + dimText;
                    symbols.Add(new SymbolPlan(display, parameterNames.Add(CSharpText.ToCamelIdentifier(raw, input.ParameterName + "Dim" + d)), input.Index, d));
                }
            }

            // A classifier's result types also have Best and TopK.
            var propertyNames = new UniqueNames(model.Classifier is null ? ReservedResultMembers : ReservedResultMembers.Concat(new[] { "Best", "TopK" }));
            var outputs = new List<OutputPlan>();
            for (int i = 0; i < model.Spec.Outputs.Count; i++)
            {
                ValueSpec value = model.Spec.Outputs[i];
                string name = CSharpText.ToPascalIdentifier(Renamed(value.Name), "Output" + i.ToString(CultureInfo.InvariantCulture));
                outputs.Add(new OutputPlan(i, value, propertyNames.Add(name)));
            }

            return new ModelPlan(model, inputs, outputs, symbols);
        }

        /// <summary>
        /// The name of an input's class of shape constants: not one of its own members (OnnxName, Rank, ElementCount,
        /// DimN), which C# forbids (CS0542).
        /// </summary>
        private static string ShapeClassName(string onnxName, int index)
        {
            string name = CSharpText.ToPascalIdentifier(onnxName, "Input" + index.ToString(CultureInfo.InvariantCulture));
            string bare = StripAt(name);
            bool member = bare is "OnnxName" or "Rank" or "ElementCount" ||
                          (bare.Length > 3 && bare.StartsWith("Dim", System.StringComparison.Ordinal) && bare.Skip(3).All(c => c >= '0' && c <= '9'));
            return member ? bare + "Input" : name;
        }

        private static string StripAt(string name) => name.StartsWith("@", System.StringComparison.Ordinal) ? name.Substring(1) : name;

        /// <summary>Hands out names, appending 2, 3, ... to any name already taken (case-sensitively, as C# compares).</summary>
        private sealed class UniqueNames
        {
            private readonly HashSet<string> _taken = new HashSet<string>(System.StringComparer.Ordinal);

            public UniqueNames(IEnumerable<string> reserved)
            {
                foreach (string name in reserved)
                {
                    _taken.Add(name);
                }
            }

            public string Add(string name)
            {
                string bare = StripAt(name);
                string candidate = bare;
                for (int n = 2; !_taken.Add(candidate); n++)
                {
                    candidate = bare + n.ToString(CultureInfo.InvariantCulture);
                }

                return candidate == bare && name.StartsWith("@", System.StringComparison.Ordinal) ? name : candidate;
            }
        }

        /// <summary>Shape text for docs, e.g. <c>[batch, 64]</c>, or <c>[?]</c>-style for unknown dims.</summary>
        public static string ShapeText(TypeSpec type)
        {
            if (!type.HasShape)
            {
                return "(shape unknown)";
            }

            var builder = new StringBuilder("[");
            for (int i = 0; i < type.Dims.Count; i++)
            {
                if (i > 0)
                {
                    builder.Append(", ");
                }

                DimSpec dim = type.Dims[i];
                builder.Append(dim.IsFixed ? dim.Value.ToString(CultureInfo.InvariantCulture) : dim.Param ?? "?");
            }

            return builder.Append(']').ToString();
        }
    }
}
