using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// Per-call cost on a model with one float input and one float output, both of fixed shape:
    /// the raw ONNX Runtime and ML.NET ways of running it. A derived class adds ModelSdk's typed Run
    /// (each generated class has its own), so that all of them land in one table.
    /// Every method reads one output element so no run can be optimized away.
    /// </summary>
    public abstract class OneInputBenchmarks
    {
        private readonly string _modelFile;
        private InferenceSession _session = null!;
        private RunOptions _runOptions = null!;
        private string _inputName = null!;
        private string _outputName = null!;
        private long[] _inputShape = null!;
        private int[] _inputDims = null!;
        private float[] _x = null!;
        private float[] _xOther = null!;
        private bool _useOther;

        // Run(RunOptions, names, OrtValue[], names, OrtValue[]): OrtValues over our arrays, made once.
        private string[] _inputNames = null!;
        private string[] _outputNames = null!;
        private OrtValue[] _inputValues = null!;
        private OrtValue[] _outputValues = null!;
        private float[] _yOrtValues = null!;

        // The floor: an I/O binding bound once to the same arrays; each call is RunWithBinding alone.
        private OrtIoBinding _binding = null!;
        private OrtValue _boundX = null!;
        private OrtValue _boundY = null!;
        private float[] _yBound = null!;

        private MlNetModel _mlNet = null!;
        private MlNetInput _mlNetInput = null!;
        private MlNetOutput _mlNetOutput = new MlNetOutput();

        protected OneInputBenchmarks(string modelFile)
        {
            _modelFile = modelFile;
        }

        /// <summary>The input every method reads (the same array on every call).</summary>
        protected float[] Input => _x;

        /// <summary>One of two arrays with different contents, alternating from call to call.</summary>
        protected float[] NextAlternatingInput()
        {
            _useOther = !_useOther;
            return _useOther ? _xOther : _x;
        }

        protected abstract void LoadModelSdk();

        /// <summary>ModelSdk's whole output for <paramref name="x"/>, for the setup's check.</summary>
        protected abstract float[] ModelSdkOutput(float[] x);

        protected abstract void DisposeModelSdk();

        [GlobalSetup]
        public void Setup()
        {
            _session = Bench.RawSession(_modelFile);
            _runOptions = new RunOptions();
            KeyValuePair<string, NodeMetadata> input = _session.InputMetadata.Single();
            KeyValuePair<string, NodeMetadata> output = _session.OutputMetadata.Single();
            _inputName = input.Key;
            _outputName = output.Key;
            _inputDims = input.Value.Dimensions;
            _inputShape = _inputDims.Select(d => (long)d).ToArray();
            long[] outputShape = output.Value.Dimensions.Select(d => (long)d).ToArray();
            int inputLength = _inputDims.Aggregate(1, (a, b) => a * b);
            int outputLength = (int)outputShape.Aggregate(1L, (a, b) => a * b);
            _x = Bench.RandomFloats(inputLength, seed: 1);
            _xOther = Bench.RandomFloats(inputLength, seed: 2);

            _inputNames = new[] { _inputName };
            _outputNames = new[] { _outputName };
            _yOrtValues = new float[outputLength];
            _inputValues = new[] { OrtValue.CreateTensorValueFromMemory(_x, _inputShape) };
            _outputValues = new[] { OrtValue.CreateTensorValueFromMemory(_yOrtValues, outputShape) };

            _yBound = new float[outputLength];
            _boundX = OrtValue.CreateTensorValueFromMemory(_x, _inputShape);
            _boundY = OrtValue.CreateTensorValueFromMemory(_yBound, outputShape);
            _binding = _session.CreateIoBinding();
            _binding.BindInput(_inputName, _boundX);
            _binding.BindOutput(_outputName, _boundY);

            _mlNet = new MlNetModel(_modelFile, _inputName, inputLength, _outputName, outputLength);
            _mlNetInput = new MlNetInput { Values = _x };

            LoadModelSdk();

            // Same work everywhere: each path's output must equal plain session.Run's.
            float[] expected = NamedOnnxValueOutput(_x);
            Bench.CheckSame("ModelSdk Run", expected, ModelSdkOutput(_x));
            Bench.CheckSame("ModelSdk Run (other array)", NamedOnnxValueOutput(_xOther), ModelSdkOutput(_xOther));
            Bench.CheckSame("ModelSdk Run (back to the first array)", expected, ModelSdkOutput(_x));
            Ort_Run_PreallocatedOrtValues();
            Bench.CheckSame("Run with OrtValues", expected, _yOrtValues);
            Ort_IoBinding_BoundOnce();
            Bench.CheckSame("RunWithBinding", expected, _yBound);
            MlNet_PredictionEngine();
            Bench.CheckSame("ML.NET PredictionEngine", expected, _mlNetOutput.Values);
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            DisposeModelSdk();
            _mlNet.Dispose();
            _binding.Dispose();
            _boundX.Dispose();
            _boundY.Dispose();
            foreach (OrtValue value in _inputValues.Concat(_outputValues))
            {
                value.Dispose();
            }

            _runOptions.Dispose();
            _session.Dispose();
        }

        [Benchmark(Baseline = true)]
        public float Ort_IoBinding_BoundOnce()
        {
            _session.RunWithBinding(_runOptions, _binding);
            return _yBound[0];
        }

        [Benchmark]
        public float Ort_Run_PreallocatedOrtValues()
        {
            _session.Run(_runOptions, _inputNames, _inputValues, _outputNames, _outputValues);
            return _yOrtValues[0];
        }

        /// <summary>The documented way: a DenseTensor over the array (no copy), named, and results ONNX Runtime allocates.</summary>
        [Benchmark]
        public float Ort_NamedOnnxValue_DenseTensor()
        {
            var inputs = new[] { NamedOnnxValue.CreateFromTensor(_inputName, new DenseTensor<float>(_x, _inputDims)) };
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _session.Run(inputs);
            return results[0].AsTensor<float>().GetValue(0);
        }

        /// <summary>ML.NET at its best: the output row is reused (Predict(input, ref output)).</summary>
        [Benchmark]
        public float MlNet_PredictionEngine()
        {
            _mlNet.Engine.Predict(_mlNetInput, ref _mlNetOutput);
            return _mlNetOutput.Values[0];
        }

        private float[] NamedOnnxValueOutput(float[] x)
        {
            var inputs = new[] { NamedOnnxValue.CreateFromTensor(_inputName, new DenseTensor<float>(x, _inputDims)) };
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _session.Run(inputs);
            return results[0].AsTensor<float>().ToArray();
        }
    }
}
