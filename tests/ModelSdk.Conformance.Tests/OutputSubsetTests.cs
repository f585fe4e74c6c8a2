using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>
    /// Every multi-output corpus model run with one output selected at a time: ModelSdk then runs a copy of
    /// the model pruned to what that output needs (ModelOptions.PruneUnselectedOutputs), and the output must
    /// still match ONNX's expected one. Covers pruning on real graphs, subgraphs (If, Loop, Scan) included.
    /// </summary>
    public class OutputSubsetTests
    {
        public static TheoryData<string> MultiOutputTests =>
            new TheoryData<string>(NodeCorpus.TestNames.Where(t =>
                !NodeCorpus.ExpectedFailures.ContainsKey(t) && NodeCorpus.ModelSdkCanExpress(t) && OutputCount(t) is > 1 and <= 64));

        private static int OutputCount(string test)
        {
            using CompiledModel model = NodeCorpus.Load(test);
            return model.Signature.Outputs.Count;
        }

        [CorpusTheory]
        [MemberData(nameof(MultiOutputTests))]
        public void Each_output_alone_matches_ONNX(string test)
        {
            using CompiledModel model = NodeCorpus.Load(test);
            using InferRequest request = model.CreateRequest();
            IReadOnlyList<CorpusDataSet> data = ModelSdkRunner.ReadData(test, model.Signature);
            for (int k = 0; k < model.Signature.Outputs.Count; k++)
            {
                request.SelectOutputs(1UL << k);
                foreach (CorpusDataSet set in data)
                {
                    ModelSdkRunner.StageInputs(request, set);
                    request.Run();
                    string? problem = ModelSdkRunner.CompareOutput(set.Outputs[k], request, k);
                    Assert.True(problem is null, $"{set.Name}, output {k} '{model.Signature.Outputs[k].Name}' alone: {problem}");
                    for (int other = 0; other < model.Signature.Outputs.Count; other++)
                    {
                        if (other != k)
                        {
                            Assert.Throws<InvalidOperationException>(() => request.GetOutput(other));
                        }
                    }
                }
            }
        }
    }
}
