using System;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.ML.OnnxRuntime;
using Perfolizer.Horology;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// Issue 4's figures use wall time: asynchronous runs and parallel jobs spend their time on other
    /// threads, which the default job's thread-CPU clock would not see. Run these on a quiet machine.
    /// </summary>
    public sealed class WallClockJob : ManualConfig
    {
        public WallClockJob()
        {
            AddJob(Job.Default
                .WithLaunchCount(3)
                .WithWarmupCount(3)
                .WithIterationCount(15)
                .WithIterationTime(TimeInterval.FromMilliseconds(200))
                .WithGcConcurrent(false)
                .WithId("WallClock"));
            AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.Min, new MinRatioColumn());
            Orderer = new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared);
        }
    }

    /// <summary>
    /// Throughput on a compute-bound model with one ONNX Runtime thread per run: sequential Run against a
    /// queue of 1, 2 and 4 jobs (on this 2-core machine, 2 jobs should nearly double images/s).
    /// </summary>
    [MemoryDiagnoser]
    [Config(typeof(WallClockJob))]
    public class QueueThroughputBenchmarks
    {
        private const int Images = 64;
        private ComputeBound _model = null!;
        private ComputeBound.Queue _queue = null!;
        private readonly object _gate = new object();
        private float[][] _images = null!;
        private float _sink;

        [Params(1, 2, 4)]
        public int Jobs { get; set; }

        [GlobalSetup]
        public void Setup()
        {
            _model = ComputeBound.Load(new ModelOptions { IntraOpNumThreads = 1 });
            _queue = _model.CreateQueue(Jobs);
            _queue.SetCallback((request, _) =>
            {
                float y = request.Result.Y[0];
                lock (_gate)
                {
                    _sink += y; // callbacks of parallel jobs run on different threads
                }
            });
            _images = new float[Images][];
            for (int i = 0; i < Images; i++)
            {
                _images[i] = Bench.RandomFloats(ComputeBound.Inputs.X.ElementCount, seed: i);
            }

            float sequential = Sequential_Run();
            _sink = 0;
            Queue_StartAsync_WaitAll().GetAwaiter().GetResult();
            if (Math.Abs(sequential - _sink) > 1e-3f * Math.Abs(sequential))
            {
                throw new InvalidOperationException($"the queue computed {_sink}, sequential runs {sequential}");
            }
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _queue.Dispose();
            _model.Dispose();
        }

        /// <summary>One image after another on the caller's thread.</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Images)]
        public float Sequential_Run()
        {
            float sum = 0;
            foreach (float[] image in _images)
            {
                sum += _model.Run(image).Y[0];
            }

            return sum;
        }

        /// <summary>Every image started on the queue (waiting for an idle job when all are busy), then all awaited.</summary>
        [Benchmark(OperationsPerInvoke = Images)]
        public async Task Queue_StartAsync_WaitAll()
        {
            foreach (float[] image in _images)
            {
                await _queue.StartAsync(image);
            }

            await _queue.WaitAllAsync();
        }
    }

    /// <summary>
    /// What an asynchronous run costs over a synchronous one on an overhead-dominated model, next to
    /// ONNX Runtime's own InferenceSession.RunAsync (which needs at least 2 intra-op threads and preallocated outputs).
    /// </summary>
    [MemoryDiagnoser]
    [Config(typeof(WallClockJob))]
    public class RunAsyncOverheadBenchmarks
    {
        private Tiny _model = null!;
        private InferenceSession _session = null!;
        private RunOptions _runOptions = null!;
        private float[] _x = null!;
        private float[] _y = null!;
        private OrtValue[] _inputs = null!;
        private OrtValue[] _outputs = null!;
        private readonly string[] _inputNames = { "x" };
        private readonly string[] _outputNames = { "y" };

        [GlobalSetup]
        public void Setup()
        {
            var twoThreads = new ModelOptions { IntraOpNumThreads = 2 };
            _model = Tiny.Load(twoThreads);
            using var options = new SessionOptions { IntraOpNumThreads = 2 };
            _session = new InferenceSession(Bench.ModelPath(Tiny.DefaultModelPath), options);
            _runOptions = new RunOptions();
            _x = Bench.RandomFloats(4, seed: 1);
            _y = new float[4];
            _inputs = new[] { OrtValue.CreateTensorValueFromMemory(_x, new long[] { 1, 4 }) };
            _outputs = new[] { OrtValue.CreateTensorValueFromMemory(_y, new long[] { 1, 4 }) };
            Ort_RunAsync().GetAwaiter().GetResult();
            Bench.CheckSame("RunAsync", _model.Run(_x).Y.ToArray(), _y);
            Bench.CheckSame("ModelSdk RunAsync", new[] { _model.Run(_x).Y[0] }, new[] { ModelSdk_RunAsync().GetAwaiter().GetResult() });
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _model.Dispose();
            foreach (OrtValue value in _inputs)
            {
                value.Dispose();
            }

            foreach (OrtValue value in _outputs)
            {
                value.Dispose();
            }

            _runOptions.Dispose();
            _session.Dispose();
        }

        [Benchmark(Baseline = true)]
        public float ModelSdk_Run() => _model.Run(_x).Y[0];

        [Benchmark]
        public async Task<float> ModelSdk_RunAsync()
        {
            using Tiny.OwnedResult result = await _model.RunAsync(_x);
            return result.Y[0];
        }

        /// <summary>ONNX Runtime's native RunAsync: its callback resumes the await on an ONNX Runtime thread.</summary>
        [Benchmark]
        public async Task Ort_RunAsync() => await _session.RunAsync(_runOptions, _inputNames, _inputs, _outputNames, _outputs);
    }
}
