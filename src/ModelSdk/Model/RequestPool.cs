using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;

namespace ModelSdk
{
    /// <summary>
    /// The requests a model lends to its own runs, bounded by concurrency rather than history.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Synchronous runs</b> (<c>model.Run</c>) use a request parked on the calling thread: its result is a
    /// <c>ref struct</c> that can't leave that thread's synchronous code, so the thread's next run may reuse
    /// the request (and its buffers) with nothing bound again. A parked request whose thread has ended is
    /// free for anyone; one left unused is retired by the trimmer (views of its last run stay readable: they
    /// point at managed memory the views themselves keep alive).
    /// </para>
    /// <para>
    /// <b>Asynchronous runs</b> (<c>RunAsync</c>) rent an idle request and give it back as soon as the run ends:
    /// the result takes the output buffers with it and owns them, so a dropped result holds no request.
    /// </para>
    /// <para>
    /// Idle requests beyond <see cref="ModelOptions.MaxIdleRequests"/>, and any unused for
    /// <see cref="ModelOptions.IdleRequestTimeout"/>, are released by a timer that runs only while some are idle.
    /// </para>
    /// </remarks>
    internal sealed class RequestPool
    {
        // The spot this thread used last, of whichever pool: one thread-static read on the hot path. It holds no
        // request once that request is retired (Forget clears spots), so it keeps nothing alive.
        [ThreadStatic]
        private static ThreadSpot? t_lastSpot;

        private readonly CompiledModel _model;
        private readonly object _lock = new object();
        private readonly List<InferRequest> _idle = new List<InferRequest>();    // at rest, anyone may take one (last in, first out)
        private readonly List<InferRequest> _parked = new List<InferRequest>();  // at rest between synchronous runs of one thread
        private readonly HashSet<InferRequest> _all = new HashSet<InferRequest>();
        private readonly ThreadLocal<ThreadSpot> _spots = new ThreadLocal<ThreadSpot>(static () => new ThreadSpot());
        private readonly int _maxIdle;
        private readonly long _idleTimeoutMs;
        private readonly TimeSpan _trimPeriod;
        private Timer? _trimTimer;
        private bool _disposed;

        public RequestPool(CompiledModel model, ModelOptions options)
        {
            _model = model;
            _maxIdle = options.MaxIdleRequests;
            _idleTimeoutMs = options.IdleRequestTimeout == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)options.IdleRequestTimeout.TotalMilliseconds;
            long period = Math.Clamp(_idleTimeoutMs / 4, 50, 1000);
            _trimPeriod = TimeSpan.FromMilliseconds(period);
        }

        /// <summary>Requests the pool holds (idle, parked and in use).</summary>
        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _all.Count;
                }
            }
        }

        /// <summary>Requests the pool holds that are at rest (idle or parked).</summary>
        public int RestingCount
        {
            get
            {
                lock (_lock)
                {
                    return _idle.Count + _parked.Count;
                }
            }
        }

        /// <summary>Pooled requests running now.</summary>
        public int RunningCount
        {
            get
            {
                lock (_lock)
                {
                    int running = 0;
                    foreach (InferRequest request in _all)
                    {
                        running += request.IsRunning ? 1 : 0;
                    }

                    return running;
                }
            }
        }

        /// <summary>
        /// The calling thread's request for a synchronous run: marked running at once when the thread has one
        /// at rest (the hot path), else reserved (<c>RunHeld</c> starts either).
        /// </summary>
        public InferRequest TakeForThisThread()
        {
            InferRequest? request = Spot().Request;
            if (request != null && request.LoadedVersion == _model.CurrentVersion && request.TryBeginParked())
            {
                request.Used = true;
                return request;
            }

            return TakeForThisThreadSlow();
        }

        /// <summary>The calling thread's request, reserved (for runs that stage some inputs first).</summary>
        public InferRequest ReserveForThisThread()
        {
            InferRequest? request = Spot().Request;
            if (request != null && request.LoadedVersion == _model.CurrentVersion && request.TryReserve())
            {
                request.Used = true;
                return request;
            }

            return TakeForThisThreadSlow();
        }

        /// <summary>This thread's spot for this pool: the last one it used (a thread-static read), else its ThreadLocal one.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ThreadSpot Spot()
        {
            ThreadSpot? last = t_lastSpot;
            return last != null && last.Pool == this ? last : SpotSlow();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private ThreadSpot SpotSlow()
        {
            ThreadSpot spot = _spots.Value!;
            spot.Pool = this;
            t_lastSpot = spot;
            return spot;
        }

        // The thread's request was retired, or runs an older version of the model (or it never had one): park another on it.
        private InferRequest TakeForThisThreadSlow()
        {
            ThreadSpot spot = Spot();
            if (spot.Request is InferRequest old && old.LoadedVersion != _model.CurrentVersion)
            {
                old.TryRetire(); // the old version's sessions go once its last request does
            }

            InferRequest request = Take(parkOn: Thread.CurrentThread);
            request.Spot = spot;
            spot.Request = request;
            return request;
        }

        /// <summary>The request parked on the calling thread, if any; for tests.</summary>
        internal InferRequest? ThisThreadRequest => Spot().Request;

        /// <summary>An idle request for an asynchronous run, reserved; it comes back through <see cref="Return"/>.</summary>
        public InferRequest Rent() => Take(parkOn: null);

        private InferRequest Take(Thread? parkOn)
        {
            InferRequest? request = null;
            lock (_lock)
            {
                ThrowIfDisposed();
                while (request is null && _idle.Count > 0)
                {
                    InferRequest candidate = _idle[_idle.Count - 1];
                    _idle.RemoveAt(_idle.Count - 1);
                    request = candidate.LoadedVersion == _model.CurrentVersion && candidate.TryReserve() ? candidate : null;
                }

                request ??= TakeFromEndedThreadLocked();
                if (request != null && parkOn != null)
                {
                    request.ParkedOn = parkOn;
                    _parked.Add(request);
                    EnsureTrimmerLocked();
                }
            }

            if (request is null)
            {
                request = _model.NewPooledRequest(); // reserved
                lock (_lock)
                {
                    if (_disposed)
                    {
                        request.Dispose(StaleReason.ModelDisposed);
                        ThrowIfDisposed();
                    }

                    _all.Add(request);
                    if (parkOn != null)
                    {
                        request.ParkedOn = parkOn;
                        _parked.Add(request);
                    }

                    EnsureTrimmerLocked();
                }
            }

            request.Used = true;
            return request;
        }

        /// <summary>A request parked on a thread that has ended: nothing can still read its last run, so anyone may take it.</summary>
        private InferRequest? TakeFromEndedThreadLocked()
        {
            for (int i = _parked.Count - 1; i >= 0; i--)
            {
                InferRequest candidate = _parked[i];
                if (!candidate.ParkedOn!.IsAlive && candidate.LoadedVersion == _model.CurrentVersion && candidate.TryReserve())
                {
                    _parked.RemoveAt(i);
                    candidate.ParkedOn = null;
                    candidate.Spot = null;
                    return candidate;
                }
            }

            return null;
        }

        /// <summary>A rented request whose run ended (or whose setup failed) comes back; parked ones stay with their thread.</summary>
        public void Return(InferRequest request)
        {
            if (request.ParkedOn != null)
            {
                return;
            }

            lock (_lock)
            {
                if (request.IsDisposed || !_all.Contains(request))
                {
                    return;
                }

                if (!_disposed && request.LoadedVersion == _model.CurrentVersion)
                {
                    request.Used = true;
                    if (!_idle.Contains(request)) // returned twice (a failed staging already gave it back): once in the list
                    {
                        _idle.Add(request);
                    }

                    EnsureTrimmerLocked();
                    return;
                }
            }

            if (_disposed)
            {
                request.Dispose(StaleReason.ModelDisposed);
            }
            else
            {
                request.TryRetire(); // it ran an older version of the model: its views stay readable, its sessions go
            }
        }

        /// <summary>A pooled request released its native state: forget it.</summary>
        public void Forget(InferRequest request)
        {
            lock (_lock)
            {
                _all.Remove(request);
                _idle.Remove(request);
                _parked.Remove(request);
            }

            if (request.Spot is ThreadSpot spot)
            {
                Interlocked.CompareExchange(ref spot.Request, null, request);
            }
        }

        /// <summary>
        /// Releases what is not needed: requests of ended threads become idle, then idle and parked requests
        /// unused for the timeout, and the least recently used beyond the idle limit (if unused for a trim period).
        /// </summary>
        public void Trim()
        {
            List<InferRequest>? retire = null;
            lock (_lock)
            {
                long period = (long)_trimPeriod.TotalMilliseconds;
                for (int i = _parked.Count - 1; i >= 0; i--)
                {
                    if (!_parked[i].ParkedOn!.IsAlive)
                    {
                        InferRequest ended = _parked[i];
                        _parked.RemoveAt(i);
                        ended.ParkedOn = null;
                        ended.Spot = null;
                        _idle.Add(ended);
                    }
                }

                var resting = new List<InferRequest>(_idle.Count + _parked.Count);
                foreach (InferRequest request in _idle.Concat(_parked))
                {
                    if (request.LoadedVersion == _model.CurrentVersion)
                    {
                        resting.Add(request);
                    }
                    else
                    {
                        (retire ??= new List<InferRequest>()).Add(request); // a reload came: older versions go
                    }
                }

                foreach (InferRequest request in resting)
                {
                    // Runs mark a request used (a plain write on the hot path); unused time is counted here, per period.
                    request.UnusedMs = request.Used ? 0 : request.UnusedMs + period;
                    request.Used = false;
                }

                resting.Sort(static (a, b) => a.UnusedMs.CompareTo(b.UnusedMs)); // most recently used first
                for (int i = 0; i < resting.Count; i++)
                {
                    long unused = resting[i].UnusedMs;
                    if (unused >= _idleTimeoutMs || (i >= _maxIdle && unused >= period))
                    {
                        (retire ??= new List<InferRequest>()).Add(resting[i]);
                    }
                }

                if (resting.Count == 0)
                {
                    _trimTimer?.Dispose();
                    _trimTimer = null;
                }
            }

            if (retire != null)
            {
                foreach (InferRequest request in retire)
                {
                    request.TryRetire(); // refuses one that started a run meanwhile
                }
            }
        }

        /// <summary>After a reload: requests at rest that run an older version are retired now (running ones when they end).</summary>
        public void RetireOlderVersions()
        {
            List<InferRequest> old;
            lock (_lock)
            {
                old = _idle.FindAll(r => r.LoadedVersion != _model.CurrentVersion);
                old.AddRange(_parked.FindAll(r => r.LoadedVersion != _model.CurrentVersion));
            }

            foreach (InferRequest request in old)
            {
                request.TryRetire();
            }
        }

        private void EnsureTrimmerLocked()
        {
            if (_trimTimer is null && !_disposed)
            {
                // The timer holds the pool weakly: a model dropped without Dispose can still be collected.
                var self = new WeakReference<RequestPool>(this);
                _trimTimer = new Timer(static state =>
                {
                    if (((WeakReference<RequestPool>)state!).TryGetTarget(out RequestPool? pool))
                    {
                        pool.Trim();
                    }
                }, self, _trimPeriod, _trimPeriod);
            }
        }

        /// <summary>Stops lending requests and disposes every one (runs in flight end and release theirs).</summary>
        public void Dispose()
        {
            InferRequest[] all;
            lock (_lock)
            {
                _disposed = true;
                _trimTimer?.Dispose();
                _trimTimer = null;
                all = new InferRequest[_all.Count];
                _all.CopyTo(all);
            }

            foreach (InferRequest request in all)
            {
                request.Dispose(StaleReason.ModelDisposed);
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(_model.GetType().Name, $"Model '{_model.Signature.ModelName}' was disposed.");
            }
        }
    }

    /// <summary>A thread's place for its parked request of one model (one object per thread and model, not per run).</summary>
    internal sealed class ThreadSpot
    {
        public InferRequest? Request;

        public RequestPool? Pool;
    }
}
