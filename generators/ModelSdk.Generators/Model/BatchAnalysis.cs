using System.Globalization;
using System.Linq;

namespace ModelSdk.Generators.Model
{
    /// <summary>
    /// Whether a model can be batched dynamically, and along which dim: every input and output a tensor whose first
    /// dim is the same symbolic dim (and no other dim is), inputs with fixed item dims and numeric elements. The
    /// runtime's BatchLayout checks the same rules again when a batcher is created.
    /// </summary>
    internal static class BatchAnalysis
    {
        /// <summary>The batch dim: <paramref name="requested"/> (item metadata BatchDim) when given, else the one the model has, if any.</summary>
        /// <param name="reason">Why <paramref name="requested"/> can't be the batch dim (null when it can, or when nothing was requested).</param>
        public static string? Find(ModelSpec spec, string? requested, out string? reason)
        {
            reason = null;
            string? candidate = requested;
            if (candidate is null)
            {
                candidate = spec.Inputs.Count > 0 && spec.Inputs[0].Type.HasShape && spec.Inputs[0].Type.Dims.Count > 0
                    ? spec.Inputs[0].Type.Dims[0].Param
                    : null;
                if (candidate is null)
                {
                    return null;
                }
            }

            string? problem = Problem(spec, candidate);
            if (problem is null)
            {
                return candidate;
            }

            reason = requested != null ? problem : null;
            return null;
        }

        private static string? Problem(ModelSpec spec, string dim)
        {
            if (spec.Inputs.Count == 0)
            {
                return "the model has no inputs";
            }

            foreach (ValueSpec input in spec.Inputs)
            {
                string? problem = LeadingProblem(input, "input", dim);
                if (problem != null)
                {
                    return problem;
                }

                if (input.Type.ElementType == ElementTypes.String)
                {
                    return "input '" + input.Name + "' holds strings (a batcher copies numeric items side by side)";
                }

                for (int d = 1; d < input.Type.Dims.Count; d++)
                {
                    if (!input.Type.Dims[d].IsFixed)
                    {
                        return "input '" + input.Name + "' has dim " + d.ToString(CultureInfo.InvariantCulture) + " that is not fixed (every item of a batch must have the same shape)";
                    }
                }
            }

            foreach (ValueSpec output in spec.Outputs)
            {
                string? problem = LeadingProblem(output, "output", dim);
                if (problem != null)
                {
                    return problem;
                }

                if (output.Type.ElementType == ElementTypes.String)
                {
                    return "output '" + output.Name + "' holds strings";
                }
            }

            return null;
        }

        private static string? LeadingProblem(ValueSpec value, string kind, string dim)
        {
            TypeSpec type = value.Type;
            if (type.Kind != ValueKind.Tensor || ElementTypes.CSharpType(type.ElementType) is null || ElementTypes.IsPacked(type.ElementType))
            {
                return kind + " '" + value.Name + "' has type " + type.Display;
            }

            if (!type.HasShape || type.Dims.Count == 0 || type.Dims[0].Param != dim)
            {
                return kind + " '" + value.Name + "' does not start with dim '" + dim + "'" +
                       (kind == "output" ? " (a batched run would not give each item its own rows)" : string.Empty);
            }

            if (type.Dims.Skip(1).Any(d => d.Param == dim))
            {
                return kind + " '" + value.Name + "' uses '" + dim + "' in more than its first dim";
            }

            return null;
        }
    }
}
