using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// two_outputs (x float[1,16] → small = sum(x) [1,1], large = tile(x) [1024,4096], 16 MB): reading only the
    /// small output with ModelSdk's output selection against raw ONNX Runtime returning every output.
    /// </summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class TwoOutputsBenchmarks
    {
        private TwoOutputs _model = null!;
        private InferenceSession _session = null!;
        private RunOptions _runOptions = null!;
        private float[] _x = null!;
        private OrtValue _xValue = null!;
        private readonly string[] _inputNames = { "x" };
        private readonly string[] _allOutputs = { "small", "large" };
        private readonly string[] _smallOnly = { "small" };

        [GlobalSetup]
        public void Setup()
        {
            _model = TwoOutputs.Load(Bench.ModelSdkOptions);
            _session = Bench.RawSession(TwoOutputs.DefaultModelPath);
            _runOptions = new RunOptions();
            _x = Bench.RandomFloats(16, seed: 1);
            _xValue = OrtValue.CreateTensorValueFromMemory(_x, new long[] { 1, 16 });
            float expected = Ort_Run_AllOutputs();
            Bench.CheckSame("ModelSdk small only", new[] { expected }, new[] { ModelSdk_Run_SmallOnly() });
            Bench.CheckSame("ModelSdk all", new[] { expected }, new[] { ModelSdk_Run_AllOutputs() });
            Bench.CheckSame("NamedOnnxValue", new[] { expected }, new[] { Ort_NamedOnnxValue_AllOutputs() });
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _model.Dispose();
            _xValue.Dispose();
            _runOptions.Dispose();
            _session.Dispose();
        }

        /// <summary>The typical raw code: Run returns every output (ONNX Runtime allocates the 16 MB each call).</summary>
        [Benchmark(Baseline = true)]
        public float Ort_Run_AllOutputs()
        {
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_runOptions, _inputNames, new[] { _xValue }, _allOutputs);
            return outputs[0].GetTensorDataAsSpan<float>()[0];
        }

        [Benchmark]
        public float Ort_NamedOnnxValue_AllOutputs()
        {
            var input = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(_x, new[] { 1, 16 })) };
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> outputs = _session.Run(input);
            return outputs.First().AsTensor<float>()[0, 0];
        }

        /// <summary>ModelSdk asked for the small output only: the Tile that makes the large one never runs.</summary>
        [Benchmark]
        public float ModelSdk_Run_SmallOnly() => _model.Run(_x, TwoOutputs.Outputs.Small).Small[0];

        /// <summary>ModelSdk with every output (written into the request's preallocated buffers).</summary>
        [Benchmark]
        public float ModelSdk_Run_AllOutputs() => _model.Run(_x).Small[0];

        /// <summary>Raw ONNX Runtime asked for the small output only, for comparison.</summary>
        [Benchmark]
        public float Ort_Run_SmallOnly()
        {
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_runOptions, _inputNames, new[] { _xValue }, _smallOnly);
            return outputs[0].GetTensorDataAsSpan<float>()[0];
        }
    }

    /// <summary>digits_encoder → digits_head: ModelSdk's chained call against copying the features through a managed array.</summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class ChainingBenchmarks
    {
        private DigitsEncoder _encoder = null!;
        private DigitsHead _head = null!;
        private InferenceSession _encoderSession = null!;
        private InferenceSession _headSession = null!;
        private float[] _pixels = null!;

        [GlobalSetup]
        public void Setup()
        {
            _encoder = DigitsEncoder.Load(Bench.ModelSdkOptions);
            _head = DigitsHead.Load(Bench.ModelSdkOptions);
            _encoderSession = Bench.RawSession(DigitsEncoder.DefaultModelPath);
            _headSession = Bench.RawSession(DigitsHead.DefaultModelPath);
            _pixels = Bench.RandomFloats(64, seed: 3).Select(v => (v + 1) * 8).ToArray();
            long expected = Ort_CopyThroughManagedArray();
            Bench.CheckSame("chained", new[] { expected }, new[] { ModelSdk_Chained() });
            Bench.CheckSame("ModelSdk copy", new[] { expected }, new[] { ModelSdk_CopyThroughManagedArray() });
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _encoder.Dispose();
            _head.Dispose();
            _encoderSession.Dispose();
            _headSession.Dispose();
        }

        /// <summary>The encoder's output view is the head's input: no copy, no allocation.</summary>
        [Benchmark(Baseline = true)]
        public long ModelSdk_Chained() => _head.Run(_encoder.Run(_pixels).Features).Label[0];

        /// <summary>ModelSdk with the features copied out to an array and passed back in.</summary>
        [Benchmark]
        public long ModelSdk_CopyThroughManagedArray() => _head.Run(_encoder.Run(_pixels).Features.ToArray()).Label[0];

        /// <summary>Raw ONNX Runtime: run the encoder, copy its output to an array, run the head on it.</summary>
        [Benchmark]
        public long Ort_CopyThroughManagedArray()
        {
            var pixels = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("pixels", new DenseTensor<float>(_pixels, new[] { 1, 64 })) };
            float[] features;
            using (IDisposableReadOnlyCollection<DisposableNamedOnnxValue> encoded = _encoderSession.Run(pixels))
            {
                features = encoded.First().AsEnumerable<float>().ToArray();
            }

            var input = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(features, new[] { 1, 32 })) };
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> head = _headSession.Run(input);
            return head.First(v => v.Name == "label").AsEnumerable<long>().First();
        }
    }
}
