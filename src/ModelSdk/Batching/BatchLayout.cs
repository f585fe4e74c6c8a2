using System;
using System.Linq;

namespace ModelSdk
{
    /// <summary>
    /// How a model's inputs and outputs split along a batch dim: the per-item shapes and sizes, checked once when a
    /// batcher is created. Every input and every output the batcher produces must have the batch dim first and
    /// nowhere else; inputs must have fixed item dims and numeric elements (items are copied side by side).
    /// </summary>
    internal sealed class BatchLayout
    {
        private BatchLayout(ModelSignature model, string batchDim, int symbol, ModelSignature item, int[] rowBytes, long[] rowElements)
        {
            Model = model;
            BatchDim = batchDim;
            Symbol = symbol;
            Item = item;
            InputRowBytes = rowBytes;
            InputRowElements = rowElements;
        }

        public ModelSignature Model { get; }

        public string BatchDim { get; }

        /// <summary>The batch dim's symbol in the model's signature (its value is the batch size of a run).</summary>
        public int Symbol { get; }

        /// <summary>The per-item signature: the model's, with the batch dim removed from every input and output.</summary>
        public ModelSignature Item { get; }

        public int[] InputRowBytes { get; }

        public long[] InputRowElements { get; }

        /// <summary>Checks that the model batches along <paramref name="batchDim"/> for the outputs in <paramref name="outputs"/> (0: all).</summary>
        /// <exception cref="NotSupportedException">It doesn't: the message names the input or output and why.</exception>
        public static BatchLayout Create(ModelSignature model, string batchDim, ulong outputs)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentException.ThrowIfNullOrEmpty(batchDim);
            if (model.Inputs.Count == 0)
            {
                throw Refuse(model, batchDim, "it has no inputs");
            }

            int symbol = -1;
            var itemInputs = new TensorInfo[model.Inputs.Count];
            var rowBytes = new int[model.Inputs.Count];
            var rowElements = new long[model.Inputs.Count];
            for (int i = 0; i < model.Inputs.Count; i++)
            {
                TensorInfo input = model.Inputs[i];
                CheckLeading(model, batchDim, "input", input);
                if (input.ElementType == OnnxElementType.String)
                {
                    throw Refuse(model, batchDim, $"input '{input.Name}' holds strings (a batcher copies numeric items side by side)");
                }

                long count = 1;
                for (int d = 1; d < input.Rank; d++)
                {
                    if (!input.Dims[d].IsFixed)
                    {
                        throw Refuse(model, batchDim, $"input '{input.Name}' {input.ShapeText} has dim {d} '{input.Dims[d]}' that is not fixed (every item of a batch must have the same shape)");
                    }

                    count = checked(count * input.Dims[d].Value);
                }

                long bytes = count * OnnxElementTypes.SizeOf(input.ElementType);
                if (bytes > Array.MaxLength / 2)
                {
                    throw Refuse(model, batchDim, $"an item of input '{input.Name}' would take {bytes} bytes");
                }

                symbol = input.Dims[0].SymbolIndex;
                rowElements[i] = count;
                rowBytes[i] = (int)bytes;
                itemInputs[i] = input.WithDims(input.DimArray.Skip(1).ToArray());
            }

            var itemOutputs = new TensorInfo[model.Outputs.Count];
            for (int o = 0; o < model.Outputs.Count; o++)
            {
                TensorInfo output = model.Outputs[o];
                bool selected = outputs == 0 || (o < 64 && (outputs & (1UL << o)) != 0);
                if (selected && output.IsSupported)
                {
                    CheckLeading(model, batchDim, "output", output);
                    if (output.ElementType == OnnxElementType.String)
                    {
                        throw Refuse(model, batchDim, $"output '{output.Name}' holds strings; leave it out of the batcher's outputs");
                    }
                }

                itemOutputs[o] = output.Rank > 0 && output.Dims[0].Name == batchDim
                    ? output.WithDims(output.DimArray.Skip(1).ToArray())
                    : output;
            }

            var item = new ModelSignature(model.ModelName, itemInputs, itemOutputs);
            return new BatchLayout(model, batchDim, symbol, item, rowBytes, rowElements);
        }

        private static void CheckLeading(ModelSignature model, string batchDim, string kind, TensorInfo value)
        {
            if (!value.IsSupported || !value.IsTensor)
            {
                throw Refuse(model, batchDim, $"{kind} '{value.Name}' has type {value.TypeDescription}");
            }

            if (OnnxElementTypes.IsPacked(value.ElementType))
            {
                throw Refuse(model, batchDim, $"{kind} '{value.Name}' holds 4-bit elements, two per byte (an item's rows need not start on a byte)");
            }

            if (!value.HasShape || value.Rank == 0 || value.Dims[0].IsFixed || value.Dims[0].Name != batchDim)
            {
                string shape = value.HasShape ? value.ShapeText : "(no shape)";
                throw Refuse(model, batchDim, $"{kind} '{value.Name}' has shape {shape}, whose first dim is not '{batchDim}'" +
                    (kind == "output" ? " (a batched run would not give each item its own rows; leave the output out of the batcher's outputs)" : string.Empty));
            }

            for (int d = 1; d < value.Rank; d++)
            {
                if (value.Dims[d].Name == batchDim)
                {
                    throw Refuse(model, batchDim, $"{kind} '{value.Name}' {value.ShapeText} uses '{batchDim}' again in dim {d}");
                }
            }
        }

        private static NotSupportedException Refuse(ModelSignature model, string batchDim, string reason) =>
            new NotSupportedException($"Model '{model.ModelName}' can't be batched along '{batchDim}': {reason}.");
    }
}
