using System;
using System.Linq;
using Xunit;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>
    /// Every test of the corpus, against ONNX's expected outputs: through ModelSdk, and on ONNX Runtime
    /// alone. A test may be expected to fail only when ONNX Runtime alone fails it (expected-failures.txt),
    /// and then ModelSdk must fail it too, for the listed reason.
    /// </summary>
    public class ConformanceTests
    {
        /// <summary>Tests ModelSdk must pass: not expected to fail, and every input and output a tensor.</summary>
        public static TheoryData<string> ModelSdkTests =>
            new TheoryData<string>(NodeCorpus.TestNames.Where(t => !NodeCorpus.ExpectedFailures.ContainsKey(t) && NodeCorpus.ModelSdkCanExpress(t)));

        /// <summary>Tests ONNX Runtime alone must pass: all but the expected failures.</summary>
        public static TheoryData<string> OnnxRuntimeTests =>
            new TheoryData<string>(NodeCorpus.TestNames.Where(t => !NodeCorpus.ExpectedFailures.ContainsKey(t)));

        public static TheoryData<string> ExpectedFailures =>
            new TheoryData<string>(NodeCorpus.ExpectedFailures.Keys.OrderBy(t => t, StringComparer.Ordinal));

        [CorpusTheory]
        [MemberData(nameof(ModelSdkTests))]
        public void ModelSdk_output_matches_ONNX(string test)
        {
            string? problem = ModelSdkRunner.Run(test);
            Assert.True(problem is null, $"{test}: {problem}");
        }

        [CorpusTheory]
        [MemberData(nameof(OnnxRuntimeTests))]
        public void OnnxRuntime_alone_output_matches_ONNX(string test)
        {
            string? problem = OrtRunner.Run(test);
            Assert.True(problem is null, $"{test}: {problem}");
        }

        [CorpusTheory]
        [MemberData(nameof(ExpectedFailures))]
        public void Expected_failure_still_fails_for_its_reason(string test)
        {
            Assert.True(NodeCorpus.TestNames.Contains(test), $"{test} is listed in expected-failures.txt but is not in the corpus: remove its line.");
            ExpectedFailure expected = NodeCorpus.ExpectedFailures[test];

            string? onnxRuntime = Failure(() => OrtRunner.Run(test));
            Assert.True(onnxRuntime != null, $"{test} now passes on ONNX Runtime: remove its line from expected-failures.txt.");
            Assert.True(onnxRuntime.Contains(expected.OnnxRuntimeReason, StringComparison.Ordinal),
                $"{test} fails on ONNX Runtime, but not for the listed reason '{expected.OnnxRuntimeReason}': {onnxRuntime}");

            // Models with sequence or optional values can't run through ModelSdk at all (GeneratedClassTests covers them).
            if (NodeCorpus.ModelSdkCanExpress(test))
            {
                string? modelSdk = Failure(() => ModelSdkRunner.Run(test));
                Assert.True(modelSdk != null, $"{test} passes with ModelSdk although ONNX Runtime alone fails it: {onnxRuntime}");
                Assert.True(modelSdk.Contains(expected.ModelSdkReason, StringComparison.Ordinal),
                    $"{test} fails with ModelSdk, but not for the listed reason '{expected.ModelSdkReason}': {modelSdk}");
            }
        }

        /// <summary>Why a run failed (its exception, or the outputs that differ), or null when it passed.</summary>
        private static string? Failure(Func<string?> run)
        {
            try
            {
                return run() is string mismatch ? "wrong outputs: " + mismatch : null;
            }
            catch (Exception ex)
            {
                return ex.GetType().Name + ": " + ex.Message;
            }
        }
    }
}
