using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// dynamic_batch (features float[batch,8] → scores float[batch,4], best int64[batch]) run at batch 1
    /// then batch 8 in every invocation: each run changes the shapes, so every path must re-bind or
    /// re-describe its inputs and outputs. Reported times and allocations are per invocation (two runs).
    /// </summary>
    [MemoryDiagnoser]
    [Config(typeof(BenchmarkJob))]
    public class DynamicBatchBenchmarks
    {
        private const int Features = (int)DynamicBatch.Inputs.Features.Dim1;

        private DynamicBatch _model = null!;
        private InferenceSession _session = null!;
        private RunOptions _runOptions = null!;
        private readonly string[] _inputNames = { DynamicBatch.Inputs.Features.OnnxName };
        private readonly string[] _outputNames = { "scores", "best" };
        private Shape _one = null!;
        private Shape _eight = null!;

        /// <summary>Everything the raw paths keep for one batch size.</summary>
        private sealed class Shape : IDisposable
        {
            public Shape(InferenceSession session, int batch, int seed)
            {
                Batch = batch;
                Features = Bench.RandomFloats(batch * DynamicBatchBenchmarks.Features, seed);
                Dims = new[] { batch, DynamicBatchBenchmarks.Features };
                Scores = new float[batch * 4];
                Best = new long[batch];
                Inputs = new[] { OrtValue.CreateTensorValueFromMemory(Features, new long[] { batch, DynamicBatchBenchmarks.Features }) };
                Outputs = new[]
                {
                    OrtValue.CreateTensorValueFromMemory(Scores, new long[] { batch, 4 }),
                    OrtValue.CreateTensorValueFromMemory(Best, new long[] { batch }),
                };

                BoundScores = new float[batch * 4];
                BoundBest = new long[batch];
                BoundValues = new[]
                {
                    OrtValue.CreateTensorValueFromMemory(Features, new long[] { batch, DynamicBatchBenchmarks.Features }),
                    OrtValue.CreateTensorValueFromMemory(BoundScores, new long[] { batch, 4 }),
                    OrtValue.CreateTensorValueFromMemory(BoundBest, new long[] { batch }),
                };
                Binding = session.CreateIoBinding();
                Binding.BindInput("features", BoundValues[0]);
                Binding.BindOutput("scores", BoundValues[1]);
                Binding.BindOutput("best", BoundValues[2]);
            }

            public readonly int Batch;
            public readonly float[] Features;
            public readonly int[] Dims;
            public readonly float[] Scores;
            public readonly long[] Best;
            public readonly OrtValue[] Inputs;
            public readonly OrtValue[] Outputs;
            public readonly float[] BoundScores;
            public readonly long[] BoundBest;
            public readonly OrtValue[] BoundValues;
            public readonly OrtIoBinding Binding;

            public void Dispose()
            {
                Binding.Dispose();
                foreach (OrtValue value in Inputs)
                {
                    value.Dispose();
                }

                foreach (OrtValue value in Outputs)
                {
                    value.Dispose();
                }

                foreach (OrtValue value in BoundValues)
                {
                    value.Dispose();
                }
            }
        }

        [GlobalSetup]
        public void Setup()
        {
            _session = Bench.RawSession(DynamicBatch.DefaultModelPath);
            _runOptions = new RunOptions();
            _one = new Shape(_session, 1, seed: 1);
            _eight = new Shape(_session, 8, seed: 2);
            _model = DynamicBatch.Load(Bench.ModelSdkOptions);

            // Same work everywhere: every path's outputs, at both sizes, must equal plain session.Run's.
            Ort_Run_PreallocatedOrtValues();
            Ort_IoBinding_BoundOncePerShape();
            foreach (Shape shape in new[] { _one, _eight, _one })
            {
                using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _session.Run(
                    new[] { NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(shape.Features, shape.Dims)) });
                float[] scores = results[0].AsTensor<float>().ToArray();
                long[] best = results[1].AsTensor<long>().ToArray();
                string size = $" (batch {shape.Batch})";

                DynamicBatch.Result result = _model.Run(shape.Features);
                Bench.CheckSame("ModelSdk scores" + size, scores, result.Scores.Span);
                Bench.CheckSame("ModelSdk best" + size, best, result.Best.Span);
                Bench.CheckSame("Run with OrtValues, scores" + size, scores, shape.Scores);
                Bench.CheckSame("Run with OrtValues, best" + size, best, shape.Best);
                Bench.CheckSame("RunWithBinding, scores" + size, scores, shape.BoundScores);
                Bench.CheckSame("RunWithBinding, best" + size, best, shape.BoundBest);
            }
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _model.Dispose();
            _one.Dispose();
            _eight.Dispose();
            _runOptions.Dispose();
            _session.Dispose();
        }

        /// <summary>The floor: one binding per batch size, each bound once.</summary>
        [Benchmark(Baseline = true)]
        public float Ort_IoBinding_BoundOncePerShape()
        {
            _session.RunWithBinding(_runOptions, _one.Binding);
            float first = _one.BoundScores[0];
            _session.RunWithBinding(_runOptions, _eight.Binding);
            return first + _eight.BoundScores[31];
        }

        [Benchmark]
        public float ModelSdk_Run_Batch1Then8()
        {
            float first = _model.Run(_one.Features).Scores[0];
            return first + _model.Run(_eight.Features).Scores[31];
        }

        /// <summary>OrtValues made once per batch size (inputs and outputs): raw ONNX Runtime at its best.</summary>
        [Benchmark]
        public float Ort_Run_PreallocatedOrtValues()
        {
            _session.Run(_runOptions, _inputNames, _one.Inputs, _outputNames, _one.Outputs);
            float first = _one.Scores[0];
            _session.Run(_runOptions, _inputNames, _eight.Inputs, _outputNames, _eight.Outputs);
            return first + _eight.Scores[31];
        }

        [Benchmark]
        public float Ort_NamedOnnxValue_DenseTensor() => RunNamed(_one, 0) + RunNamed(_eight, 31);

        private float RunNamed(Shape shape, int read)
        {
            var inputs = new[] { NamedOnnxValue.CreateFromTensor(_inputNames[0], new DenseTensor<float>(shape.Features, shape.Dims)) };
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = _session.Run(inputs);
            return results[0].AsTensor<float>().GetValue(read);
        }
    }
}
