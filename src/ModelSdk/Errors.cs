using System;
using System.Collections.Generic;

namespace ModelSdk
{
    /// <summary>ONNX Runtime failed while running a model.</summary>
    public sealed class InferenceException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public InferenceException(string message, int ortErrorCode, Exception? inner = null)
            : base(message, inner)
        {
            OrtErrorCode = ortErrorCode;
        }

        /// <summary>ONNX Runtime's error code (OrtErrorCode), or -1 when unknown.</summary>
        public int OrtErrorCode { get; }
    }

    /// <summary>A model file could not be loaded, or does not match the class generated for it.</summary>
    public sealed class ModelLoadException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ModelLoadException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }

    /// <summary>The exceptions generated code throws; messages are built here, in one place.</summary>
    public static class ModelErrors
    {
        /// <summary>An input whose type ModelSdk can't express was needed to run the model.</summary>
        public static NotSupportedException UnsupportedInput(ModelSignature signature, int index)
        {
            TensorInfo input = signature.Inputs[index];
            return new NotSupportedException(
                $"Model '{signature.ModelName}' can't be run through its typed API: input '{input.Name}' has type {input.TypeDescription}, " +
                "which ModelSdk cannot pass yet (diagnostic MSDK0003).");
        }

        /// <summary>An output whose type ModelSdk can't express was read.</summary>
        public static NotSupportedException UnsupportedOutput(ModelSignature signature, int index)
        {
            TensorInfo output = signature.Outputs[index];
            return new NotSupportedException(
                $"Output '{output.Name}' of model '{signature.ModelName}' has type {output.TypeDescription}, " +
                "which ModelSdk cannot read yet (diagnostic MSDK0003). The model's other outputs work.");
        }

        internal static ArgumentException InputLength(ModelSignature signature, int index, string expectedShape, long expectedCount, long received) =>
            new ArgumentException(
                $"Input {signature.Named(signature.Inputs[index].Name)} of model '{signature.ModelName}' expects shape {expectedShape} " +
                $"({expectedCount} elements) but received {received} elements.",
                ParameterName(signature, index));

        internal static ArgumentException InputShape(ModelSignature signature, int index, string problem) =>
            new ArgumentException(
                $"Input {signature.Named(signature.Inputs[index].Name)} of model '{signature.ModelName}' (shape {signature.Inputs[index].ShapeText}): {problem}",
                ParameterName(signature, index));

        internal static ArgumentException InputType(ModelSignature signature, int index, OnnxElementType given) =>
            new ArgumentException(
                $"Input {signature.Named(signature.Inputs[index].Name)} of model '{signature.ModelName}' takes {OnnxElementTypes.OnnxName(signature.Inputs[index].ElementType)} " +
                $"elements but was given {OnnxElementTypes.OnnxName(given)}.",
                ParameterName(signature, index));

        internal static InvalidOperationException StaleOutput(ModelSignature signature, int index, StaleReason reason) =>
            new InvalidOperationException(
                $"Output '{signature.Outputs[index].Name}' of model '{signature.ModelName}' was read after " + reason switch
                {
                    StaleReason.ResultDisposed => "its result was disposed",
                    StaleReason.RequestDisposed => "its request was disposed",
                    StaleReason.ModelDisposed => "the model was disposed",
                    _ => "its request ran again",
                } +
                ", so it no longer holds this result. Copy outputs you keep (ToArray() or CopyTo()) before the next run, " +
                "keep a synchronous result with ToOwned(), or use RunAsync, whose result you own until you dispose it.");

        internal static InvalidOperationException NotSelected(ModelSignature signature, int index) =>
            new InvalidOperationException(
                $"Output '{signature.Outputs[index].Name}' of model '{signature.ModelName}' was not requested in this run " +
                "(the run's output selection left it out, so ONNX Runtime did not produce it).");

        internal static string ShapeText(IReadOnlyList<Dim> dims, ReadOnlySpan<long> symbols)
        {
            var parts = new string[dims.Count];
            for (int i = 0; i < parts.Length; i++)
            {
                Dim dim = dims[i];
                if (dim.IsFixed)
                {
                    parts[i] = dim.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                else
                {
                    long value = dim.SymbolIndex >= 0 ? symbols[dim.SymbolIndex] : -1;
                    parts[i] = (dim.Name ?? "?") + (value >= 0 ? "=" + value.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
                }
            }

            return "[" + string.Join(", ", parts) + "]";
        }

        // The C# parameter (ArgumentException.ParamName), which is the ONNX name unless the generated method renamed it.
        private static string ParameterName(ModelSignature signature, int index) => signature.ParameterOf(signature.Inputs[index].Name);
    }
}
