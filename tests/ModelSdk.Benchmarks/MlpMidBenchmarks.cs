using BenchmarkDotNet.Attributes;

namespace ModelSdk.Benchmarks
{
    /// <summary>mlp_mid (x float[1,256] → 3-layer MLP, ~400 KB of weights → logits float[1,10]): some compute per call.</summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class MlpMidBenchmarks : OneInputBenchmarks
    {
        private MlpMid _model = null!;

        public MlpMidBenchmarks()
            : base(MlpMid.DefaultModelPath)
        {
        }

        [Benchmark]
        public float ModelSdk_Run() => _model.Run(Input).Logits[0];

        /// <summary>A different array each call: the request re-binds its input every time.</summary>
        [Benchmark]
        public float ModelSdk_Run_AlternatingArrays() => _model.Run(NextAlternatingInput()).Logits[0];

        protected override void LoadModelSdk() => _model = MlpMid.Load(Bench.ModelSdkOptions);

        protected override float[] ModelSdkOutput(float[] x) => _model.Run(x).Logits.ToArray();

        protected override void DisposeModelSdk() => _model.Dispose();
    }
}
