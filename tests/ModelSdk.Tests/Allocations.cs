using System;

namespace ModelSdk.Tests
{
    /// <summary>
    /// Measures managed allocations of a piece of code on the current thread. The runtime itself
    /// occasionally allocates on a test thread (e.g. when tests running in parallel grow per-thread
    /// tables), so the code runs several rounds and the least any round allocated is reported: code
    /// that allocates per call allocates in every round.
    /// </summary>
    internal static class Allocations
    {
        public static long LeastPerRound(Action round, int rounds = 5)
        {
            round(); // warm up: first-call costs (JIT, buffers sized on first run) are not steady state
            long least = long.MaxValue;
            for (int i = 0; i < rounds; i++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                round();
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            return least;
        }
    }
}
