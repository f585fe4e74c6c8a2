using Xunit;

namespace ModelSdk.Conformance.Tests
{
    // xunit reads Skip from the attribute instance, so setting it in the constructor skips the test (a theory
    // is then reported as one skipped test, its data never enumerated). Skipping is reserved for a missing corpus.

    /// <summary>A fact that is skipped, with the reason, when ONNX's backend test corpus is not installed.</summary>
    public sealed class CorpusFactAttribute : FactAttribute
    {
        public CorpusFactAttribute()
        {
            if (!NodeCorpus.IsInstalled)
            {
                Skip = NodeCorpus.NotInstalledReason;
            }
        }
    }

    /// <summary>A theory that is skipped, with the reason, when ONNX's backend test corpus is not installed.</summary>
    public sealed class CorpusTheoryAttribute : TheoryAttribute
    {
        public CorpusTheoryAttribute()
        {
            if (!NodeCorpus.IsInstalled)
            {
                Skip = NodeCorpus.NotInstalledReason;
            }
        }
    }
}
