using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// iris_classifier (a scikit-learn LogisticRegression in skl2onnx's graph): classify one row and read its best
    /// label from the ZipMap output (seq(map(int64, float))). ModelSdk's typed Run + Best against raw ONNX Runtime's
    /// two usual paths: OrtValue's GetValue (the map's keys and values tensors), and NamedOnnxValue's AsDictionary.
    /// </summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class ZipMapBenchmarks
    {
        private readonly float[] _row = { 6.3f, 2.9f, 5.6f, 1.8f }; // a virginica
        private IrisClassifier _model = null!;
        private InferenceSession _session = null!;
        private RunOptions _runOptions = null!;
        private OrtValue _input = null!;
        private string[] _inputNames = null!;
        private string[] _outputNames = null!;
        private NamedOnnxValue[] _namedInputs = null!;

        [GlobalSetup]
        public void Setup()
        {
            _model = IrisClassifier.Load(Bench.ModelSdkOptions);
            _session = Bench.RawSession(IrisClassifier.DefaultModelPath);
            _runOptions = new RunOptions();
            _input = OrtValue.CreateTensorValueFromMemory(_row, new long[] { 1, 4 });
            _inputNames = new[] { "float_input" };
            _outputNames = _session.OutputNames.ToArray();
            _namedInputs = new[] { NamedOnnxValue.CreateFromTensor("float_input", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(_row, new[] { 1, 4 })) };
            long ours = ModelSdk_Run_Best(), viaGetValue = OnnxRuntime_OrtValue_GetValue(), viaDictionary = OnnxRuntime_NamedOnnxValue_AsDictionary();
            if (ours != viaGetValue || ours != viaDictionary)
            {
                throw new InvalidOperationException($"The paths disagree: {ours}, {viaGetValue}, {viaDictionary}.");
            }
        }

        [Benchmark(Baseline = true)]
        public long OnnxRuntime_OrtValue_GetValue()
        {
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_runOptions, _inputNames, new[] { _input }, _outputNames);
            using OrtValue map = outputs[1].GetValue(0, OrtAllocator.DefaultInstance);
            using OrtValue keys = map.GetValue(0, OrtAllocator.DefaultInstance);
            using OrtValue values = map.GetValue(1, OrtAllocator.DefaultInstance);
            ReadOnlySpan<long> k = keys.GetTensorDataAsSpan<long>();
            ReadOnlySpan<float> v = values.GetTensorDataAsSpan<float>();
            int best = 0;
            for (int i = 1; i < v.Length; i++)
            {
                best = v[i] > v[best] ? i : best;
            }

            return k[best];
        }

        [Benchmark]
        public long OnnxRuntime_NamedOnnxValue_AsDictionary()
        {
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> outputs = _session.Run(_namedInputs);
            IDictionary<long, float> probabilities = outputs[1].AsEnumerable<NamedOnnxValue>().First().AsDictionary<long, float>();
            return probabilities.MaxBy(p => p.Value).Key;
        }

        [Benchmark]
        public long ModelSdk_Run_Best() => _model.Run(_row, floatInputDim0: 1).Best().Label;

        [GlobalCleanup]
        public void Cleanup()
        {
            _model.Dispose();
            _input.Dispose();
            _runOptions.Dispose();
            _session.Dispose();
        }
    }
}
