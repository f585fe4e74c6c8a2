using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// big_input: image float[1,3,1024,1024] (12 MB) → corner = 2 * image[0..16]. The model reads 16
    /// elements, so each method's time is what it costs to hand ONNX Runtime 12 MB of input.
    /// </summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class BigInputBenchmarks
    {
        private static readonly long[] ImageShape = { 1, 3, 1024, 1024 };
        private static readonly int[] ImageDims = { 1, 3, 1024, 1024 };
        private static readonly long[] CornerShape = { 1, 1, 1, 16 };
        private const int ImageLength = BigInput.Inputs.Image.ElementCount;

        private BigInput _model = null!;
        private InferRequest _copyRequest = null!;
        private InferenceSession _session = null!;
        private RunOptions _runOptions = null!;
        private float[] _image = null!;
        private float[] _copyTarget = null!;

        private readonly string[] _inputNames = { BigInput.Inputs.Image.OnnxName };
        private readonly string[] _outputNames = { "corner" };
        private float[] _corner = null!;
        private OrtValue[] _outputValues = null!;

        // The floor: the caller's array and an output array bound once; each call is RunWithBinding alone.
        private OrtIoBinding _binding = null!;
        private OrtValue _boundImage = null!;
        private OrtValue _boundCorner = null!;
        private float[] _cornerBound = null!;

        private MlNetModel _mlNet = null!;
        private MlNetInput _mlNetInput = null!;
        private MlNetOutput _mlNetOutput = new MlNetOutput();

        [GlobalSetup]
        public void Setup()
        {
            _image = Bench.RandomFloats(ImageLength, seed: 1);
            _copyTarget = new float[ImageLength];
            _session = Bench.RawSession(BigInput.DefaultModelPath);
            _runOptions = new RunOptions();

            _corner = new float[16];
            _outputValues = new[] { OrtValue.CreateTensorValueFromMemory(_corner, CornerShape) };

            _cornerBound = new float[16];
            _boundImage = OrtValue.CreateTensorValueFromMemory(_image, ImageShape);
            _boundCorner = OrtValue.CreateTensorValueFromMemory(_cornerBound, CornerShape);
            _binding = _session.CreateIoBinding();
            _binding.BindInput(_inputNames[0], _boundImage);
            _binding.BindOutput(_outputNames[0], _boundCorner);

            _mlNet = new MlNetModel(BigInput.DefaultModelPath, _inputNames[0], ImageLength, _outputNames[0], 16);
            _mlNetInput = new MlNetInput { Values = _image };

            _model = BigInput.Load(Bench.ModelSdkOptions);
            // CompiledModel's own (untyped) request: Run(InputArg) and GetOutput by index, as a tool would use it.
            _copyRequest = ((CompiledModel)_model).CreateRequest();
            _copyRequest.InputMode = InputMode.Copy;

            // Same work everywhere: each path's output must equal 2 * image[0..16] and plain session.Run's.
            float[] expected = new float[16];
            for (int i = 0; i < expected.Length; i++)
            {
                expected[i] = 2 * _image[i];
            }

            Ort_NewDenseTensorCopy_NamedOnnxValue();
            using (IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _session.Run(
                new[] { NamedOnnxValue.CreateFromTensor(_inputNames[0], new DenseTensor<float>(_image, ImageDims)) }))
            {
                Bench.CheckSame("session.Run", expected, results[0].AsTensor<float>().ToArray());
            }

            Bench.CheckSame("ModelSdk shared Run", expected, _model.Run(_image).Corner.ToArray());
            ModelSdk_Run_CopyMode();
            Bench.CheckSame("ModelSdk copy-mode Run", expected, _copyRequest.GetOutput<float>(0).ToArray());
            Ort_OrtValue_OverCallerArray();
            Bench.CheckSame("Run with an OrtValue over the array", expected, _corner);
            Ort_IoBinding_BoundOnce();
            Bench.CheckSame("RunWithBinding", expected, _cornerBound);
            MlNet_PredictionEngine();
            Bench.CheckSame("ML.NET PredictionEngine", expected, _mlNetOutput.Values);
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _copyRequest.Dispose();
            _model.Dispose();
            _mlNet.Dispose();
            _binding.Dispose();
            _boundImage.Dispose();
            _boundCorner.Dispose();
            _outputValues[0].Dispose();
            _runOptions.Dispose();
            _session.Dispose();
        }

        [Benchmark(Baseline = true)]
        public float Ort_IoBinding_BoundOnce()
        {
            _session.RunWithBinding(_runOptions, _binding);
            return _cornerBound[0];
        }

        /// <summary>The default: ONNX Runtime reads the caller's array in place.</summary>
        [Benchmark]
        public float ModelSdk_Run_Shared() => _model.Run(_image).Corner[0];

        /// <summary>The request copies the input into its own buffer first (the caller may reuse the array at once).</summary>
        [Benchmark]
        public float ModelSdk_Run_CopyMode()
        {
            return _copyRequest.Run(new TensorInput<float>(_image)).GetOutput<float>(0)[0];
        }

        /// <summary>One memcpy of the 12 MB into an existing array, and nothing else: what copy mode should cost over the shared run.</summary>
        [Benchmark]
        public float ArrayCopy_12MB_Only()
        {
            Array.Copy(_image, _copyTarget, ImageLength);
            return _copyTarget[0];
        }

        /// <summary>Typical user code: fill a new DenseTensor from the caller's data, then session.Run with NamedOnnxValue.</summary>
        [Benchmark]
        public float Ort_NewDenseTensorCopy_NamedOnnxValue()
        {
            var tensor = new DenseTensor<float>(ImageDims);
            _image.AsSpan().CopyTo(tensor.Buffer.Span);
            var inputs = new[] { NamedOnnxValue.CreateFromTensor(_inputNames[0], tensor) };
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _session.Run(inputs);
            return results[0].AsTensor<float>().GetValue(0);
        }

        /// <summary>Zero-copy raw ONNX Runtime: an OrtValue over the caller's array (made per call, as the array may change) and a preallocated output.</summary>
        [Benchmark]
        public float Ort_OrtValue_OverCallerArray()
        {
            using OrtValue image = OrtValue.CreateTensorValueFromMemory(_image, ImageShape);
            _session.Run(_runOptions, _inputNames, new[] { image }, _outputNames, _outputValues);
            return _corner[0];
        }

        /// <summary>ML.NET at its best: the output row is reused (Predict(input, ref output)).</summary>
        [Benchmark]
        public float MlNet_PredictionEngine()
        {
            _mlNet.Engine.Predict(_mlNetInput, ref _mlNetOutput);
            return _mlNetOutput.Values[0];
        }
    }
}
