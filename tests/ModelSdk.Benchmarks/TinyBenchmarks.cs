using BenchmarkDotNet.Attributes;

namespace ModelSdk.Benchmarks
{
    /// <summary>tiny (x float[1,4] → x + 1): the model does nearly nothing, so this measures per-call overhead.</summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class TinyBenchmarks : OneInputBenchmarks
    {
        private Tiny _model = null!;

        public TinyBenchmarks()
            : base(Tiny.DefaultModelPath)
        {
        }

        [Benchmark]
        public float ModelSdk_Run() => _model.Run(Input).Y[0];

        /// <summary>A different array each call: the request re-binds its input every time.</summary>
        [Benchmark]
        public float ModelSdk_Run_AlternatingArrays() => _model.Run(NextAlternatingInput()).Y[0];

        protected override void LoadModelSdk() => _model = Tiny.Load(Bench.ModelSdkOptions);

        protected override float[] ModelSdkOutput(float[] x) => _model.Run(x).Y.ToArray();

        protected override void DisposeModelSdk() => _model.Dispose();
    }
}
