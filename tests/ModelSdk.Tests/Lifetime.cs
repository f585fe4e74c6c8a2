using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
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
        public static void Bounded(Action body, TimeSpan? timeout = null)
        {
            TimeSpan limit = timeout ?? Timeout;
            Exception? error = null;
            var thread = new Thread(() =>
            {
                try
                {
                    body();
                }
                catch (Exception ex)
                {
                    error = ex;
                }
            }) { IsBackground = true, Name = "bounded test body" };
            thread.Start();
            Assert.True(thread.Join(limit), $"the test body did not finish within {limit.TotalSeconds} s (hang)");
            if (error != null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
            }
        }

        /// <summary>Runs an async body on the thread pool; fails if it takes longer than <paramref name="timeout"/>.</summary>
        public static void Bounded(Func<Task> body, TimeSpan? timeout = null)
        {
            TimeSpan limit = timeout ?? Timeout;
            Task task = Task.Run(body);
            Assert.True(Task.WaitAny(new[] { task }, limit) == 0, $"the test body did not finish within {limit.TotalSeconds} s (hang)");
            task.GetAwaiter().GetResult();
        }

        /// <summary>Full blocking GCs with finalizers run, the last one aggressive (memory given back to the OS where it can be).</summary>
        public static void FullGc()
        {
            for (int i = 0; i < 2; i++)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }

            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        /// <summary>The GC heap (the pinned object heap included, where output buffers live), in MB.</summary>
        public static long ManagedMb() => GC.GetTotalMemory(forceFullCollection: false) / (1024 * 1024);

        public static long WorkingSetMb()
        {
            using Process self = Process.GetCurrentProcess();
            self.Refresh();
            return self.WorkingSet64 / (1024 * 1024);
        }

        /// <summary>Rows of models/digits_samples.csv: (true label, 64 pixels).</summary>
        public static IReadOnlyList<(long Label, float[] Pixels)> DigitSamples() =>
            File.ReadLines(Path.Combine(TestData.ModelsDir, "digits_samples.csv")).Skip(1)
                .Select(line => line.Split(','))
                .Select(f => (long.Parse(f[0], CultureInfo.InvariantCulture), f.Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()))
                .ToList();

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
