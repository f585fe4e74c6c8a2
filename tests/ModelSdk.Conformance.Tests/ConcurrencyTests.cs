using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>Several threads share one loaded model, each with its own request, and each keeps getting its own outputs.</summary>
    public class ConcurrencyTests
    {
        private const int Threads = 4;
        private const int RunsPerThread = 10;

        [CorpusTheory]
        [MemberData(nameof(ConformanceTests.ModelSdkTests), MemberType = typeof(ConformanceTests))]
        public void Threads_sharing_one_model_with_a_request_each_get_their_own_outputs(string test)
        {
            using CompiledModel model = NodeCorpus.Load(test); // its Dispose releases the requests too
            var data = new List<CorpusDataSet>(ModelSdkRunner.ReadData(test, model.Signature));
            if (Variant(model, data[0]) is CorpusDataSet variant)
            {
                data.Add(variant);
            }

            InferRequest[] requests = Enumerable.Range(0, Threads).Select(_ => model.CreateRequest()).ToArray();
            var problems = new ConcurrentQueue<string>();
            using var start = new Barrier(Threads);
            Thread[] threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait(); // the threads start together and run back to back, so their runs overlap
                try
                {
                    for (int run = 0; run < RunsPerThread; run++)
                    {
                        // Neighbouring threads run different data sets: requests that interfered would mix them up.
                        CorpusDataSet set = data[(t + run) % data.Count];
                        if (ModelSdkRunner.RunDataSet(requests[t], set) is string problem)
                        {
                            problems.Enqueue($"thread {t}, run {run}: {problem}");
                            return;
                        }
                    }
                }
                catch (Exception ex)
                {
                    problems.Enqueue($"thread {t}: {ex}");
                }
            })).ToArray();

            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            Assert.True(problems.IsEmpty, $"{test}:\n" + string.Join("\n", problems));
        }

        /// <summary>
        /// A second data set: the inputs with their floating-point elements reversed, and as expected outputs
        /// what a run on a request of its own gives (the corpus tests check that such a run is right).
        /// Null when no input is floating-point, the model rejects the reversed values, or a value is not a tensor.
        /// </summary>
        private static CorpusDataSet? Variant(CompiledModel model, CorpusDataSet set)
        {
            if (set.Inputs.Any(v => v.Tensor is null) || model.Signature.Outputs.Any(o => o.Kind != OnnxValueKind.Tensor))
            {
                return null;
            }

            TestTensor[] given = set.Inputs.Select(v => v.Tensor!).ToArray();
            TestTensor[] inputs = given.Select(Reversed).ToArray();
            if (inputs.SequenceEqual(given))
            {
                return null;
            }

            using InferRequest request = model.CreateRequest();
            for (int i = 0; i < inputs.Length; i++)
            {
                request.CopyInput(i, inputs[i].ToInputArg());
            }

            try
            {
                request.Run();
            }
            catch (InferenceException)
            {
                return null; // e.g. reversed scales or bounds that make no sense to the operator
            }

            var outputs = new TestTensor[request.Signature.Outputs.Count];
            for (int i = 0; i < outputs.Length; i++)
            {
                OutputValue output = request.GetOutput(i);
                bool strings = output.ElementType == OnnxElementType.String;
                outputs[i] = new TestTensor(output.Info.Name, output.ElementType, output.Shape.ToArray(),
                    strings ? Array.Empty<byte>() : output.Bytes.ToArray(), strings ? output.Strings.ToArray() : null);
            }

            return new CorpusDataSet("reversed " + set.Name, inputs.Select(CorpusValue.Of).ToArray(), outputs.Select(CorpusValue.Of).ToArray());
        }

        /// <summary>The tensor with its elements in reverse order if they are floating-point; otherwise the same instance.</summary>
        private static TestTensor Reversed(TestTensor tensor)
        {
            if (tensor.ElementType is not (OnnxElementType.Float or OnnxElementType.Double or OnnxElementType.Float16 or OnnxElementType.BFloat16))
            {
                return tensor;
            }

            int size = OnnxElementTypes.SizeOf(tensor.ElementType);
            byte[] bytes = new byte[tensor.Bytes.Length];
            for (int at = 0; at < bytes.Length; at += size)
            {
                Array.Copy(tensor.Bytes, at, bytes, bytes.Length - size - at, size);
            }

            return new TestTensor(tensor.Name, tensor.ElementType, tensor.Dims, bytes, null);
        }
    }
}
