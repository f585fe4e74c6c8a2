using System.Collections.Generic;
using System.Linq;
using ModelSdk.TestSupport;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>A data set read for ModelSdk: its inputs and expected outputs are all tensors.</summary>
    internal sealed record TensorDataSet(string Name, TestTensor[] Inputs, TestTensor[] Outputs);

    /// <summary>
    /// Runs corpus tests through ModelSdk: the model's generated class, a request of its own, inputs
    /// staged by index (graph order) and outputs read by index: the request machinery the typed
    /// members use, driven by a caller that only knows the model at run time.
    /// </summary>
    internal static class ModelSdkRunner
    {
        /// <summary>Runs every data set of a test (each <see cref="NodeCorpus.RunsPerDataSet"/> times); null when every output matched.</summary>
        public static string? Run(string test)
        {
            using CompiledModel model = NodeCorpus.Load(test);
            using InferRequest request = model.CreateRequest();
            IReadOnlyList<TensorDataSet> data = ReadData(test);
            for (int run = 1; run <= NodeCorpus.RunsPerDataSet; run++)
            {
                foreach (TensorDataSet set in data)
                {
                    if (RunDataSet(request, set) is string problem)
                    {
                        return $"run {run}: {problem}";
                    }
                }
            }

            return null;
        }

        public static IReadOnlyList<TensorDataSet> ReadData(string test) =>
            NodeCorpus.DataSets(test)
                .Select(set => new TensorDataSet(set.Name, set.Inputs.Select(OnnxTensorFile.Read).ToArray(), set.Outputs.Select(OnnxTensorFile.Read).ToArray()))
                .ToArray();

        /// <summary>Runs one data set on <paramref name="request"/>; null when every output matches.</summary>
        /// <remarks>
        /// Input files map to the graph's inputs by position, as in ONNX's test runner; should a data set
        /// give fewer, the remaining inputs are left unstaged and the request reports them.
        /// </remarks>
        public static string? RunDataSet(InferRequest request, TensorDataSet set)
        {
            for (int i = 0; i < set.Inputs.Length; i++)
            {
                request.CopyInput(i, set.Inputs[i].ToInputArg());
            }

            request.Run();
            IReadOnlyList<TensorInfo> outputs = request.Signature.Outputs;
            if (outputs.Count != set.Outputs.Length)
            {
                return $"{set.Name}: the model has {outputs.Count} outputs but the data set {set.Outputs.Length}";
            }

            var problems = new List<string>();
            for (int i = 0; i < outputs.Count; i++)
            {
                if (TensorAssert.Compare(set.Outputs[i], request.GetOutput(i), NodeCorpus.Rtol, NodeCorpus.Atol) is string problem)
                {
                    problems.Add($"output {i} '{outputs[i].Name}': {problem}");
                }
            }

            return problems.Count == 0 ? null : set.Name + ": " + string.Join("; ", problems);
        }
    }
}
