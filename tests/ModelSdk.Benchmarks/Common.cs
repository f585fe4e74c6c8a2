using System;
using System.IO;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// The one job every class runs with. On a 2-core VM BenchmarkDotNet's default (auto-sized, up to
    /// 100 iterations) takes 1-2 minutes per benchmark; a fixed 3 warmups + 15 measured iterations of
    /// ~0.5 s each keeps the whole run well under 20 minutes while the confidence interval of every
    /// mean stays around 1% of it. Two launches (processes) average out per-process luck: code
    /// layout, where the GC put the arrays, how ONNX Runtime's threads were placed.
    /// </summary>
    public sealed class BenchmarkJob : ManualConfig
    {
        public BenchmarkJob()
        {
            AddJob(Job.Default
                .WithLaunchCount(2)
                .WithWarmupCount(3)
                .WithIterationCount(15)
                .WithId("ModelSdkJob"));
        }
    }

    /// <summary>Helpers shared by the benchmark classes.</summary>
    internal static class Bench
    {
        /// <summary>The models are copied next to the app by the OnnxModel items (that is where the generated Load() looks too).</summary>
        public static string ModelPath(string file) => Path.Combine(AppContext.BaseDirectory, file);

        /// <summary>A raw ONNX Runtime session with the settings ModelSdk's defaults give its own.</summary>
        public static InferenceSession RawSession(string file)
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            };
            return new InferenceSession(ModelPath(file), options);
        }

        /// <summary>Deterministic inputs in [-1, 1).</summary>
        public static float[] RandomFloats(int length, int seed)
        {
            var random = new Random(seed);
            var values = new float[length];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)(random.NextDouble() * 2 - 1);
            }

            return values;
        }

        /// <summary>
        /// Fails the setup (and so the benchmark) unless a path computed the reference output: every
        /// method of a class must do the same work. The sessions share options and kernels, so the
        /// results are expected to be bit-identical; a small tolerance covers ML.NET's own session.
        /// </summary>
        public static void CheckSame(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
        {
            if (expected.Length != actual.Length)
            {
                throw new InvalidOperationException($"{what}: {actual.Length} output elements, expected {expected.Length}.");
            }

            for (int i = 0; i < expected.Length; i++)
            {
                if (Math.Abs(expected[i] - actual[i]) > 1e-6f * (1 + Math.Abs(expected[i])))
                {
                    throw new InvalidOperationException($"{what}: element {i} is {actual[i]}, expected {expected[i]}.");
                }
            }
        }

        public static void CheckSame(string what, ReadOnlySpan<long> expected, ReadOnlySpan<long> actual)
        {
            if (!expected.SequenceEqual(actual))
            {
                throw new InvalidOperationException($"{what}: the outputs differ from the reference.");
            }
        }
    }
}
