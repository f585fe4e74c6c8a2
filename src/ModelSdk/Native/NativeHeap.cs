using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace ModelSdk.Native
{
    /// <summary>
    /// Hands memory a released session freed back to the operating system. glibc raises its mmap threshold after a
    /// large block is freed, so later large blocks (ONNX Runtime's arenas, weights, intermediates) come from its
    /// heaps, and freeing them keeps the pages: without this, the working set of a service that reloads a model
    /// climbs by about the size of a session's buffers per reload until every heap holds some (measured here, two_outputs
    /// reloaded 100 times: 184 MB after the first reload, 324 MB after the 70th and on; with the trim 184 -> 236 MB, at most 253).
    /// </summary>
    internal static class NativeHeap
    {
        private static int s_unavailable; // 1 once the C library turned out not to be glibc

        /// <summary>After a session is released: give free pages back (a few milliseconds at most; sessions are released rarely).</summary>
        public static void GiveBackFreedMemory()
        {
            if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_unavailable) != 0)
            {
                return;
            }

            try
            {
                malloc_trim(0);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                Volatile.Write(ref s_unavailable, 1); // musl and others: nothing to trim
            }
        }

        [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
        private static extern int malloc_trim(nuint pad);
    }
}
