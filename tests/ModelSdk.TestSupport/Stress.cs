using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace ModelSdk.TestSupport
{
    /// <summary>What stress and lifetime tests share: bodies bounded in time (a hang fails instead of blocking CI), memory figures, the digits samples.</summary>
    public static class Stress
    {
        /// <summary>Runs <paramref name="body"/> on a thread of its own; fails if it takes longer than <paramref name="limit"/>.</summary>
        public static void Bounded(Action body, TimeSpan limit)
        {
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

        /// <summary>Runs an async body on the thread pool; fails if it takes longer than <paramref name="limit"/>.</summary>
        public static void Bounded(Func<Task> body, TimeSpan limit)
        {
            Task task = Task.Run(body);
            Assert.True(Task.WaitAny(new[] { task }, limit) == 0, $"the test body did not finish within {limit.TotalSeconds} s (hang)");
            task.GetAwaiter().GetResult();
        }

        /// <summary>Polls <paramref name="condition"/> until it holds (true) or <paramref name="limit"/> passes (false).</summary>
        public static bool WaitFor(Func<bool> condition, TimeSpan limit)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > limit)
                {
                    return false;
                }

                Thread.Sleep(5);
            }

            return true;
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

        public static long WorkingSetMb()
        {
            using Process self = Process.GetCurrentProcess();
            self.Refresh();
            return self.WorkingSet64 / (1024 * 1024);
        }

        /// <summary>Rows of digits_samples.csv (in <paramref name="folder"/>): (true label, 64 pixels).</summary>
        public static IReadOnlyList<(long Label, float[] Pixels)> DigitSamples(string folder) =>
            File.ReadLines(Path.Combine(folder, "digits_samples.csv")).Skip(1)
                .Select(line => line.Split(','))
                .Select(f => (long.Parse(f[0], CultureInfo.InvariantCulture), f.Skip(1).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()))
                .ToList();
    }
}
