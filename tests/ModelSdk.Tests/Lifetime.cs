using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Memory figures need the process to themselves: the lifetime tests run alone.</summary>
    [CollectionDefinition("Lifetimes", DisableParallelization = true)]
    public sealed class LifetimesCollection
    {
    }

    /// <summary>Helpers of the lifetime tests: every body is bounded in time, so a hang fails instead of blocking CI.</summary>
    internal static class Lifetime
    {
        public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

        /// <summary>The bound the issue asks for: requests held follow concurrency plus a small idle pool.</summary>
        public static int RequestBound(int concurrency) => concurrency + 2 * Environment.ProcessorCount + 2;

        public static float[] Iota16 => Enumerable.Range(1, 16).Select(i => (float)i).ToArray(); // sum 136, max 16

        /// <summary>Runs <paramref name="body"/> on a thread of its own; fails if it takes longer than <paramref name="timeout"/>.</summary>
        public static void Bounded(Action body, TimeSpan? timeout = null) => Stress.Bounded(body, timeout ?? Timeout);

        /// <summary>Runs an async body on the thread pool; fails if it takes longer than <paramref name="timeout"/>.</summary>
        public static void Bounded(Func<Task> body, TimeSpan? timeout = null) => Stress.Bounded(body, timeout ?? Timeout);

        public static void FullGc() => Stress.FullGc();

        /// <summary>The GC heap (the pinned object heap included, where output buffers live), in MB.</summary>
        public static long ManagedMb() => GC.GetTotalMemory(forceFullCollection: false) / (1024 * 1024);

        public static long WorkingSetMb() => Stress.WorkingSetMb();

        /// <summary>Rows of models/digits_samples.csv: (true label, 64 pixels).</summary>
        public static IReadOnlyList<(long Label, float[] Pixels)> DigitSamples() => Stress.DigitSamples(TestData.ModelsDir);

        /// <summary>The exception <paramref name="read"/> throws, or null (ref struct results can't go into a lambda, so tests call a local function).</summary>
        public static TException? Catch<TException>(Action read)
            where TException : Exception
        {
            try
            {
                read();
                return null;
            }
            catch (TException ex)
            {
                return ex;
            }
        }
    }
}
