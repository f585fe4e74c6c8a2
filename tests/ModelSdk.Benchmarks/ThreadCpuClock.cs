using System;
using System.Runtime.InteropServices;
using Perfolizer.Horology;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// A clock that reads the CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID) instead of
    /// wall time. BenchmarkDotNet reads its clock on the thread that runs the benchmark, so time the
    /// thread spends descheduled (this 2-core VM is shared with builds and test runs) is left out.
    /// Exact only when the benchmark thread does all the work: see <see cref="BenchmarkJob"/>.
    /// </summary>
    public sealed unsafe class ThreadCpuClock : IClock
    {
        private const int ClockThreadCpuTimeId = 3;

        public string Title => "Thread CPU time";

        public bool IsAvailable => OperatingSystem.IsLinux();

        public Frequency Frequency => Frequency.GHz;

        public long GetTimestamp()
        {
            TimeSpec now;
            clock_gettime(ClockThreadCpuTimeId, &now);
            return now.Seconds * 1_000_000_000L + now.Nanoseconds;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc", SetLastError = false)]
        private static extern int clock_gettime(int clockId, TimeSpec* time);
    }
}
