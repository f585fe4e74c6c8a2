using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelSdk.Generators.Model
{
    /// <summary>
    /// The <c>Rename</c> item metadata: <c>onnxName=CSharpName</c> pairs separated by ';', for inputs, outputs and
    /// symbolic dims whose exported names make poor C# (<c>p2o.DynamicDimension.0=batch;x=image</c>). Only the C# names
    /// change; the ONNX names stay in the docs and in the runtime's checks.
    /// </summary>
    internal static class Renames
    {
        public static Dictionary<string, string> Parse(string? metadata)
        {
            var renames = new Dictionary<string, string>(StringComparer.Ordinal);
            if (string.IsNullOrWhiteSpace(metadata))
            {
                return renames;
            }

            foreach (string pair in metadata!.Split(';'))
            {
                int equals = pair.LastIndexOf('=');
                if (equals > 0 && equals < pair.Length - 1)
                {
                    renames[pair.Substring(0, equals).Trim()] = pair.Substring(equals + 1).Trim();
                }
            }

            return renames;
        }

        /// <summary>The names a Rename gives that match no input, output or symbolic dim of the model (typos).</summary>
        public static IEnumerable<string> Unmatched(string? metadata, ModelSpec spec)
        {
            var known = new HashSet<string>(spec.Inputs.Concat(spec.Outputs).Select(v => v.Name), StringComparer.Ordinal);
            foreach (ValueSpec value in spec.Inputs.Concat(spec.Outputs))
            {
                foreach (DimSpec dim in value.Type.Dims)
                {
                    if (dim.Param != null)
                    {
                        known.Add(dim.Param);
                    }
                }
            }

            return Parse(metadata).Keys.Where(k => !known.Contains(k));
        }
    }
}
