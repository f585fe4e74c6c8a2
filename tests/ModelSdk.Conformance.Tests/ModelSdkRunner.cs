using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.TestSupport;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>A data set read for ModelSdk: its inputs and expected outputs (tensors, sequences, optionals).</summary>
    internal sealed record CorpusDataSet(string Name, CorpusValue[] Inputs, CorpusValue[] Outputs);

    /// <summary>
    /// Runs corpus tests through ModelSdk: the model's generated class, a request of its own, inputs
    /// staged by index (graph order) and outputs read by index: the request machinery the typed
    /// members use, driven by a caller that only knows the model at run time. Tensors go in as
    /// <see cref="InputArg"/>s; sequences and optionals as the managed objects the typed API takes
    /// (lists of <see cref="OnnxTensor{T}"/>, null for an absent optional), and come out decoded.
    /// </summary>
    internal static class ModelSdkRunner
    {
        /// <summary>Runs every data set of a test (each <see cref="NodeCorpus.RunsPerDataSet"/> times); null when every output matched.</summary>
        public static string? Run(string test)
        {
            using CompiledModel model = NodeCorpus.Load(test);
            using InferRequest request = model.CreateRequest();
            IReadOnlyList<CorpusDataSet> data = ReadData(test, request.Signature);
            for (int run = 1; run <= NodeCorpus.RunsPerDataSet; run++)
            {
                foreach (CorpusDataSet set in data)
                {
                    if (RunDataSet(request, set) is string problem)
                    {
                        return $"run {run}: {problem}";
                    }
                }
            }

            return null;
        }

        public static IReadOnlyList<CorpusDataSet> ReadData(string test, ModelSignature signature) =>
            NodeCorpus.DataSets(test)
                .Select(set => new CorpusDataSet(
                    set.Name,
                    set.Inputs.Select((file, i) => CorpusValue.Read(file, Kind(i < signature.Inputs.Count ? signature.Inputs[i] : null))).ToArray(),
                    set.Outputs.Select((file, i) => CorpusValue.Read(file, Kind(i < signature.Outputs.Count ? signature.Outputs[i] : null))).ToArray()))
                .ToArray();

        /// <summary>Which message a data file holds follows from the declared type of its input or output.</summary>
        private static OnnxValueType Kind(TensorInfo? info) => info?.Kind switch
        {
            OnnxValueKind.Sequence => OnnxValueType.ONNX_TYPE_SEQUENCE,
            OnnxValueKind.Optional => OnnxValueType.ONNX_TYPE_OPTIONAL,
            _ => OnnxValueType.ONNX_TYPE_TENSOR,
        };

        /// <summary>Runs one data set on <paramref name="request"/>; null when every output matches.</summary>
        /// <remarks>
        /// Input files map to the graph's inputs by position, as in ONNX's test runner; should a data set
        /// give fewer, the remaining inputs are left unstaged and the request reports them.
        /// </remarks>
        public static string? RunDataSet(InferRequest request, CorpusDataSet set)
        {
            StageInputs(request, set);
            request.Run();
            IReadOnlyList<TensorInfo> outputs = request.Signature.Outputs;
            if (outputs.Count != set.Outputs.Length)
            {
                return $"{set.Name}: the model has {outputs.Count} outputs but the data set {set.Outputs.Length}";
            }

            var problems = new List<string>();
            for (int i = 0; i < outputs.Count; i++)
            {
                if (CompareOutput(set.Outputs[i], request, i) is string problem)
                {
                    problems.Add($"output {i} '{outputs[i].Name}': {problem}");
                }
            }

            return problems.Count == 0 ? null : set.Name + ": " + string.Join("; ", problems);
        }

        /// <summary>Copies a data set's inputs into the request by position.</summary>
        public static void StageInputs(InferRequest request, CorpusDataSet set)
        {
            for (int i = 0; i < set.Inputs.Length; i++)
            {
                CorpusValue input = set.Inputs[i];
                request.CopyInput(i, input.Kind == OnnxValueType.ONNX_TYPE_TENSOR ? input.Tensor!.ToInputArg() : InputArg.FromValue(ToManaged(input)));
            }
        }

        /// <summary>Compares output <paramref name="index"/> of the request's last run with the expected value; null when they match.</summary>
        public static string? CompareOutput(CorpusValue expected, InferRequest request, int index) =>
            expected.Kind == OnnxValueType.ONNX_TYPE_TENSOR
                ? TensorAssert.Compare(expected.Tensor!, request.GetOutput(index), NodeCorpus.Rtol, NodeCorpus.Atol)
                : Compare(expected, request.GetOutput(index).Value);

        /// <summary>A corpus value as the typed API takes it: a tensor, an array of values for a sequence, the value or null for an optional.</summary>
        private static object? ToManaged(CorpusValue value) => value.Kind switch
        {
            OnnxValueType.ONNX_TYPE_TENSOR => ToOnnxTensor(value.Tensor!),
            OnnxValueType.ONNX_TYPE_SEQUENCE => value.Elements.Select(ToManaged).ToArray(),
            _ => value.Contained is null ? null : ToManaged(value.Contained),
        };

        private static object ToOnnxTensor(TestTensor t) => t.ElementType switch
        {
            OnnxElementType.Float => new OnnxTensor<float>(t.As<float>(), Dims(t)),
            OnnxElementType.Double => new OnnxTensor<double>(t.As<double>(), Dims(t)),
            OnnxElementType.Int8 => new OnnxTensor<sbyte>(t.As<sbyte>(), Dims(t)),
            OnnxElementType.UInt8 => new OnnxTensor<byte>(t.As<byte>(), Dims(t)),
            OnnxElementType.Int16 => new OnnxTensor<short>(t.As<short>(), Dims(t)),
            OnnxElementType.UInt16 => new OnnxTensor<ushort>(t.As<ushort>(), Dims(t)),
            OnnxElementType.Int32 => new OnnxTensor<int>(t.As<int>(), Dims(t)),
            OnnxElementType.UInt32 => new OnnxTensor<uint>(t.As<uint>(), Dims(t)),
            OnnxElementType.Int64 => new OnnxTensor<long>(t.As<long>(), Dims(t)),
            OnnxElementType.UInt64 => new OnnxTensor<ulong>(t.As<ulong>(), Dims(t)),
            OnnxElementType.Bool => new OnnxTensor<bool>(t.As<bool>(), Dims(t)),
            OnnxElementType.Float16 => new OnnxTensor<Half>(t.As<Half>(), Dims(t)),
            OnnxElementType.BFloat16 => new OnnxTensor<BFloat16>(t.As<BFloat16>(), Dims(t)),
            OnnxElementType.String => new OnnxTensor<string>(t.Strings!, Dims(t)),
            _ => throw new NotSupportedException($"The test can't pass {t.ElementType} tensors inside sequences or optionals."),
        };

        private static long[] Dims(TestTensor t) => t.Dims; // rank 0 stays rank 0: OnnxTensor takes the dims as given

        /// <summary>Compares a decoded sequence or optional with the corpus's value; null when they match.</summary>
        private static string? Compare(CorpusValue expected, object? actual)
        {
            if (expected.Kind == OnnxValueType.ONNX_TYPE_OPTIONAL)
            {
                return expected.Contained is null
                    ? actual is null ? null : $"a value, expected an empty optional"
                    : actual is null ? "an empty optional, expected a value" : Compare(expected.Contained, actual);
            }

            if (expected.Kind == OnnxValueType.ONNX_TYPE_SEQUENCE)
            {
                if (actual is not IEnumerable elements)
                {
                    return $"{actual?.GetType().Name ?? "null"}, expected a sequence";
                }

                object?[] items = elements.Cast<object?>().ToArray();
                if (items.Length != expected.Elements.Count)
                {
                    return $"a sequence of {items.Length}, expected {expected.Elements.Count}";
                }

                for (int i = 0; i < items.Length; i++)
                {
                    if (Compare(expected.Elements[i], items[i]) is string problem)
                    {
                        return $"element {i}: {problem}";
                    }
                }

                return null;
            }

            return CompareTensor(expected.Tensor!, actual);
        }

        private static string? CompareTensor(TestTensor expected, object? actual)
        {
            (OnnxElementType type, long[] shape, byte[]? bytes, string[]? strings) = Raw(actual);
            if (type != expected.ElementType)
            {
                return $"element type {type}, expected {expected.ElementType}";
            }

            if (!shape.AsSpan().SequenceEqual(expected.Dims))
            {
                return $"shape [{string.Join(", ", shape)}], expected [{string.Join(", ", expected.Dims)}]";
            }

            if (strings != null)
            {
                return strings.SequenceEqual(expected.Strings!) ? null : $"strings [{string.Join(", ", strings)}], expected [{string.Join(", ", expected.Strings!)}]";
            }

            return TensorAssert.CompareBytes(expected.ElementType, expected.Bytes, bytes, NodeCorpus.Rtol, NodeCorpus.Atol);
        }

        /// <summary>A decoded tensor's element type, shape and raw bytes (or strings).</summary>
        private static (OnnxElementType Type, long[] Shape, byte[]? Bytes, string[]? Strings) Raw(object? tensor) => tensor switch
        {
            OnnxTensor<float> t => Of(t),
            OnnxTensor<double> t => Of(t),
            OnnxTensor<sbyte> t => Of(t),
            OnnxTensor<byte> t => Of(t),
            OnnxTensor<short> t => Of(t),
            OnnxTensor<ushort> t => Of(t),
            OnnxTensor<int> t => Of(t),
            OnnxTensor<uint> t => Of(t),
            OnnxTensor<long> t => Of(t),
            OnnxTensor<ulong> t => Of(t),
            OnnxTensor<bool> t => Of(t),
            OnnxTensor<Half> t => Of(t),
            OnnxTensor<BFloat16> t => Of(t),
            OnnxTensor<string> t => (OnnxElementType.String, t.Shape.ToArray(), null, t.ToArray()),
            _ => throw new InvalidOperationException($"{tensor?.GetType().Name ?? "null"} is not a decoded tensor."),
        };

        private static (OnnxElementType, long[], byte[]?, string[]?) Of<T>(OnnxTensor<T> t)
            where T : unmanaged =>
            (OnnxElementTypes.Of<T>(), t.Shape.ToArray(), MemoryMarshal.AsBytes(t.Span).ToArray(), null);
    }
}
