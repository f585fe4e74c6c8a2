using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;

namespace ModelSdk
{
    /// <summary>
    /// Runs the asynchronous inferences of one model on .NET thread-pool threads. A thread that has just
    /// finished a run keeps polling for the next one for a few microseconds before going back to the
    /// pool: a caller that awaits a run and starts the next then finds a thread ready, instead of paying
    /// a thread wake-up each time (ONNX Runtime's own pool spins the same way). Runs never execute on an
    /// ONNX Runtime thread.
    /// </summary>
    internal sealed class RunScheduler : IThreadPoolWorkItem
    {
        // How long a thread polls for more work after a run: a few wake-up latencies, far less than a real model's run.
        private static readonly long PollTicks = Stopwatch.Frequency / 50_000; // 20 us

        private readonly ConcurrentQueue<IThreadPoolWorkItem> _pending = new ConcurrentQueue<IThreadPoolWorkItem>();

        // Threads polling right now. A thread running a job (whose completion may run the caller's code, which
        // may wait for another run) does not count: a run left pending then gets a thread of its own.
        private int _pollers;

        // 1 while a thread has been asked for and has not started yet: at most one such request at a time (one per
        // run queued meanwhile piled up tens of thousands under load, each spinning on a thread-pool thread for nothing).
        private int _requested;

        /// <summary>Queues a run; a polling thread takes it, or a thread-pool thread is asked for.</summary>
        public void Schedule(IThreadPoolWorkItem run)
        {
            _pending.Enqueue(run);
            if (Volatile.Read(ref _pollers) == 0)
            {
                RequestThread();
            }
        }

        private void RequestThread()
        {
            if (Interlocked.CompareExchange(ref _requested, 1, 0) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
        }

        /// <summary>On a thread-pool thread: run what is pending, poll briefly for more, then return to the pool.</summary>
        void IThreadPoolWorkItem.Execute()
        {
            Volatile.Write(ref _requested, 0);
            Interlocked.Increment(ref _pollers);
            long idleSince = Stopwatch.GetTimestamp();
            while (true)
            {
                if (_pending.TryDequeue(out IThreadPoolWorkItem? run))
                {
                    // While this thread runs the job (and maybe the caller's code after it), the runs still pending get another thread.
                    if (Interlocked.Decrement(ref _pollers) == 0 && !_pending.IsEmpty)
                    {
                        RequestThread();
                    }

                    run.Execute();
                    Interlocked.Increment(ref _pollers);
                    idleSince = Stopwatch.GetTimestamp();
                    continue;
                }

                if (Stopwatch.GetTimestamp() - idleSince < PollTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }

                Interlocked.Decrement(ref _pollers);

                // A run queued while this thread was giving up may have seen it polling and asked for no thread: take it.
                if (_pending.IsEmpty)
                {
                    return;
                }

                Interlocked.Increment(ref _pollers);
            }
        }
    }
}
