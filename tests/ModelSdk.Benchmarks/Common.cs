using System;
using System.IO;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Order;
using Microsoft.ML.OnnxRuntime;
using Perfolizer.Horology;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// The one job and columns every class runs with.
    /// <para>
    /// Clock: this 2-core VM is shared (builds and test runs of other work keep its load around 10),
    /// and under that load wall-clock means swing by 30-70% from one iteration to the next. The job
    /// therefore times each iteration with <see cref="ThreadCpuClock"/>: the CPU time of the thread
    /// that runs the benchmark, which leaves out the time it waits for a core. That is exact here
    /// because every method does all of its work on that thread: ONNX Runtime sessions get one
    /// intra-op thread (<see cref="Bench.IntraOpThreads"/>, the same for every path; these models are
    /// too small to split across threads anyway) and the GC is non-concurrent, so collections run on
    /// the thread that allocates. On a quiet machine set MODELSDK_BENCH_WALLCLOCK=1 for wall time.
    /// </para>
    /// <para>
    /// Iterations: BenchmarkDotNet's default job sizes itself (up to 100 iterations of 0.5 s) and takes
    /// 1-2 minutes per benchmark here; 3 launches x (3 warmups + 20 iterations of 0.1 s) take ~15 s, so
    /// the 23 benchmarks run in about 8 minutes. Short iterations so that a burst of load spoils a few
    /// samples, which the default outlier filter drops; three processes to average out per-process luck
    /// (code layout, where the GC put the arrays).
    /// </para>
    /// <para>
    /// Ratios: read "Ratio (min)" (<see cref="MinRatioColumn"/>), which compares fastest iterations and
    /// repeats within ~1% between runs here; the mean-based Ratio column is kept as BenchmarkDotNet's own.
    /// </para>
    /// </summary>
    public sealed class BenchmarkJob : ManualConfig
    {
        public BenchmarkJob()
        {
            Job job = Job.Default
                .WithLaunchCount(3)
                .WithWarmupCount(3)
                .WithIterationCount(20)
                .WithIterationTime(TimeInterval.FromMilliseconds(100))
                .WithGcConcurrent(false)
                .WithId("ModelSdk");
            if (Environment.GetEnvironmentVariable("MODELSDK_BENCH_WALLCLOCK") != "1")
            {
                job = job.WithClock(new ThreadCpuClock());
            }

            AddJob(job);
            AddColumn(StatisticColumn.Median, StatisticColumn.Min, new MinRatioColumn());
            Orderer = new DefaultOrderer(SummaryOrderPolicy.Declared);
        }
    }

    /// <summary>Helpers shared by the benchmark classes.</summary>
    internal static class Bench
    {
        /// <summary>The models are copied next to the app by the OnnxModel items (that is where the generated Load() looks too).</summary>
        public static string ModelPath(string file) => Path.Combine(AppContext.BaseDirectory, file);

        /// <summary>ONNX Runtime's threads per operator, for every session of every path (see <see cref="BenchmarkJob"/>).</summary>
        public const int IntraOpThreads = 1;

        /// <summary>ModelSdk's options: its defaults, with the benchmark's thread count.</summary>
        public static ModelOptions ModelSdkOptions => new ModelOptions { IntraOpNumThreads = IntraOpThreads };

        /// <summary>A raw ONNX Runtime session with the settings <see cref="ModelSdkOptions"/> give ModelSdk's.</summary>
        public static InferenceSession RawSession(string file)
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = IntraOpThreads,
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
