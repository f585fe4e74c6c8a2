using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelSdk.TestSupport;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>
    /// Runs corpus tests on ONNX Runtime directly (InferenceSession and OrtValue, default session
    /// options, no ModelSdk): the baseline that decides whether a failure is ONNX Runtime's or ModelSdk's.
    /// </summary>
    internal static class OrtRunner
    {
        /// <summary>Runs every data set of a test (each <see cref="NodeCorpus.RunsPerDataSet"/> times); null when every output matched.</summary>
        public static string? Run(string test)
        {
            using var session = new InferenceSession(NodeCorpus.ModelPath(test));
            using var runOptions = new RunOptions();
            IReadOnlyList<DataSet> data = NodeCorpus.DataSets(test);
            for (int run = 1; run <= NodeCorpus.RunsPerDataSet; run++)
            {
                foreach (DataSet set in data)
                {
                    if (RunDataSet(session, runOptions, set) is string problem)
                    {
                        return $"run {run}: {set.Name}: {problem}";
                    }
                }
            }

            return null;
        }

        // Input files map to the graph's inputs by position, as in ONNX's test runner.
        private static string? RunDataSet(InferenceSession session, RunOptions runOptions, DataSet set)
        {
            var names = new List<string>();
            var values = new List<OrtValue>();
            try
            {
                for (int i = 0; i < set.Inputs.Length; i++)
                {
                    string name = session.InputNames[i];
                    CorpusValue value = CorpusValue.Read(set.Inputs[i], session.InputMetadata[name].OnnxValueType);
                    if (value.Kind == OnnxValueType.ONNX_TYPE_OPTIONAL)
                    {
                        // ONNX Runtime takes an optional input as the value it holds; an empty one is not fed at all.
                        if (value.Contained is null)
                        {
                            continue;
                        }

                        value = value.Contained;
                    }

                    names.Add(name);
                    values.Add(ToOrtValue(value));
                }

                using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, names, values, session.OutputNames);
                if (outputs.Count != set.Outputs.Length)
                {
                    return $"the model has {outputs.Count} outputs but the data set {set.Outputs.Length}";
                }

                var problems = new List<string>();
                for (int i = 0; i < outputs.Count; i++)
                {
                    string name = session.OutputNames[i];
                    CorpusValue expected = CorpusValue.Read(set.Outputs[i], session.OutputMetadata[name].OnnxValueType);
                    if (Compare(expected, outputs.ElementAt(i)) is string problem)
                    {
                        problems.Add($"output {i} '{name}': {problem}");
                    }
                }

                return problems.Count == 0 ? null : string.Join("; ", problems);
            }
            finally
            {
                foreach (OrtValue value in values)
                {
                    value.Dispose();
                }
            }
        }

        private static OrtValue ToOrtValue(CorpusValue value)
        {
            if (value.Kind == OnnxValueType.ONNX_TYPE_TENSOR)
            {
                return ToOrtTensor(value.Tensor!);
            }

            if (value.Kind != OnnxValueType.ONNX_TYPE_SEQUENCE)
            {
                throw new NotSupportedException($"The test feeds tensors, sequences and optionals, not {value.Kind} inside a sequence.");
            }

            var elements = new List<OrtValue>();
            try
            {
                foreach (CorpusValue element in value.Elements)
                {
                    elements.Add(ToOrtValue(element));
                }

                return OrtValue.CreateSequence(elements); // takes ownership of the elements
            }
            catch
            {
                elements.ForEach(e => e.Dispose());
                throw;
            }
        }

        private static OrtValue ToOrtTensor(TestTensor tensor)
        {
            if (tensor.ElementType == OnnxElementType.String)
            {
                OrtValue strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Dims);
                for (int i = 0; i < tensor.Strings!.Length; i++)
                {
                    strings.StringTensorSetElementAt(tensor.Strings[i].AsSpan(), i);
                }

                return strings;
            }

            // ONNX Runtime's TensorElementType has the values of ONNX's TensorProto.DataType, as OnnxElementType does.
            OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)tensor.ElementType, tensor.Dims);
            tensor.Bytes.CopyTo(value.GetTensorMutableRawData());
            return value;
        }

        private static string? Compare(CorpusValue expected, OrtValue actual)
        {
            if (expected.Kind == OnnxValueType.ONNX_TYPE_OPTIONAL)
            {
                // ONNX Runtime returns an optional output as the value it holds (the corpus has no empty optional output).
                expected = expected.Contained ?? throw new NotSupportedException("The test does not check empty optional outputs.");
            }

            if (actual.OnnxType != expected.Kind)
            {
                return $"{actual.OnnxType}, expected {expected.Kind}";
            }

            if (expected.Kind == OnnxValueType.ONNX_TYPE_TENSOR)
            {
                return CompareTensor(expected.Tensor!, actual);
            }

            int count = actual.GetValueCount();
            if (count != expected.Elements.Count)
            {
                return $"a sequence of {count}, expected {expected.Elements.Count}";
            }

            for (int i = 0; i < count; i++)
            {
                using OrtValue element = actual.GetValue(i, OrtAllocator.DefaultInstance);
                if (Compare(expected.Elements[i], element) is string problem)
                {
                    return $"element {i}: {problem}";
                }
            }

            return null;
        }

        private static string? CompareTensor(TestTensor expected, OrtValue actual)
        {
            OrtTensorTypeAndShapeInfo info = actual.GetTensorTypeAndShape();
            if ((int)info.ElementDataType != (int)expected.ElementType)
            {
                return $"element type {info.ElementDataType}, expected {expected.ElementType}";
            }

            if (!info.Shape.AsSpan().SequenceEqual(expected.Dims))
            {
                return $"shape [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", expected.Dims)}]";
            }

            if (expected.ElementType != OnnxElementType.String)
            {
                return TensorAssert.CompareBytes(expected.ElementType, expected.Bytes, actual.GetTensorMutableRawData(), NodeCorpus.Rtol, NodeCorpus.Atol);
            }

            string[] strings = actual.GetStringTensorAsArray();
            for (int i = 0; i < strings.Length; i++)
            {
                if (strings[i] != expected.Strings![i])
                {
                    return $"element {i} is \"{strings[i]}\", expected \"{expected.Strings[i]}\"";
                }
            }

            return null;
        }
    }
}
