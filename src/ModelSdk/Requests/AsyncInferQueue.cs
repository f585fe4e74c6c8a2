using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace ModelSdk
{
    /// <summary>
    /// A pool of N requests of one model that run jobs in parallel, like OpenVINO's <c>AsyncInferQueue</c>:
    /// starting a job waits (asynchronously) for an idle request, one callback sees every completion,
    /// and errors of runs and callbacks are collected for <see cref="WaitAllAsync"/>, each reported once.
    /// Generated classes derive a typed queue that adds a typed <c>StartAsync</c>.
    /// </summary>
    /// <remarks>
    /// Dispose never blocks, even from the queue's own callback: waiting callers get
    /// <see cref="ObjectDisposedException"/>, jobs in flight are stopped and their requests released when they end.
    /// </remarks>
    /// <typeparam name="TRequest">The generated request type.</typeparam>
    public abstract class AsyncInferQueue<TRequest> : IDisposable
        where TRequest : TypedRequest<TRequest>
    {
        private readonly Job[] _jobs;
        // Idle jobs, and callers waiting for one. A finished job goes straight to the first waiter, whose code
        // then continues on the finishing thread (a .NET thread-pool thread): no thread wake-up between jobs.
        private readonly Queue<Job> _idle = new Queue<Job>();
        private readonly LinkedList<Waiter> _waiters = new LinkedList<Waiter>();
        private readonly ConcurrentQueue<Exception> _errors = new ConcurrentQueue<Exception>();
        private readonly object _drainLock = new object();
        private TaskCompletionSource? _drained;
        private Action<TRequest, object?>? _callback;
        private int _inFlight;
        private volatile bool _disposed;

        /// <summary>Creates <paramref name="jobs"/> requests (0 picks <see cref="CompiledModel.DefaultJobCount"/>).</summary>
        protected AsyncInferQueue(CompiledModel model, int jobs, Func<InferRequest, TRequest> wrap)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(wrap);
            if (jobs < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(jobs), jobs, "The number of jobs can't be negative (0 picks one per core).");
            }

            _jobs = new Job[jobs == 0 ? CompiledModel.DefaultJobCount : jobs];
            try
            {
                for (int i = 0; i < _jobs.Length; i++)
                {
                    _jobs[i] = new Job(wrap(model.CreateRequest()), this);
                    _idle.Enqueue(_jobs[i]);
                }
            }
            catch
            {
                foreach (Job? job in _jobs)
                {
                    job?.Request.Dispose();
                }

                throw;
            }
        }

        /// <summary>Number of jobs (requests) in the queue.</summary>
        public int Count => _jobs.Length;

        /// <summary>Job <paramref name="index"/>'s request (its state, its last result).</summary>
        public TRequest this[int index] => _jobs[index].Request;

        /// <summary>True when a job is idle, i.e. starting one would not wait.</summary>
        public bool IsReady
        {
            get
            {
                lock (_idle)
                {
                    return _idle.Count > 0;
                }
            }
        }

        /// <summary>
        /// Sets the callback called, on a thread-pool thread, when each job completes, with its request and
        /// the userdata it was started with. Read outputs there: the request takes another job once the
        /// callback returns. A failed run's request rethrows its error from <c>Result</c>. Exceptions the
        /// callback throws are collected for <see cref="WaitAllAsync"/>.
        /// </summary>
        public void SetCallback(Action<TRequest, object?>? callback) => _callback = callback;

        /// <summary>Waits until every started job has completed; then throws the errors of runs and callbacks collected since the last call.</summary>
        public async Task WaitAllAsync(CancellationToken cancellationToken = default)
        {
            Task drained;
            lock (_drainLock)
            {
                drained = _inFlight == 0 ? Task.CompletedTask : (_drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
            ThrowCollectedErrors();
        }

        /// <summary>
        /// Runs a stream of items through the queue, with at most <see cref="Count"/> in flight, and yields
        /// one output per item in the items' order.
        /// </summary>
        /// <param name="items">The inputs.</param>
        /// <param name="setInputs">Stages an item's inputs on a request (e.g. <c>(r, item) =&gt; r.SetInputs(item)</c>).</param>
        /// <param name="read">Reads what to keep from a job's request when its run completes (e.g. <c>r =&gt; r.Result.Label[0]</c>), before the request is reused.</param>
        /// <param name="cancellationToken">Stops the stream; runs in flight are cancelled.</param>
        [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "One overload per kind of source (IEnumerable, IAsyncEnumerable), each with the usual optional CancellationToken.")]
        public async IAsyncEnumerable<TOut> RunAllAsync<TItem, TOut>(
            IAsyncEnumerable<TItem> items,
            Action<TRequest, TItem> setInputs,
            Func<TRequest, TOut> read,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(items);
            ArgumentNullException.ThrowIfNull(setInputs);
            ArgumentNullException.ThrowIfNull(read);
            var pending = new Queue<StreamItem<TOut>>();
            await foreach (TItem item in items.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                // Bound memory: don't run further ahead than twice the number of jobs.
                while (pending.Count >= 2 * _jobs.Length)
                {
                    yield return await pending.Dequeue().Task.ConfigureAwait(false);
                }

                Job job = await AcquireJobAsync(cancellationToken).ConfigureAwait(false);
                var streamItem = new StreamItem<TOut>(read);
                try
                {
                    setInputs(job.Request, item);
                }
                catch
                {
                    ReleaseJob(job);
                    throw;
                }

                StartJob(job, streamItem, cancellationToken);
                pending.Enqueue(streamItem);
            }

            while (pending.Count > 0)
            {
                yield return await pending.Dequeue().Task.ConfigureAwait(false);
            }
        }

        /// <summary>Runs a sequence of items through the queue; see the <see cref="IAsyncEnumerable{T}"/> overload.</summary>
        [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "One overload per kind of source (IEnumerable, IAsyncEnumerable), each with the usual optional CancellationToken.")]
        public IAsyncEnumerable<TOut> RunAllAsync<TItem, TOut>(
            IEnumerable<TItem> items, Action<TRequest, TItem> setInputs, Func<TRequest, TOut> read, CancellationToken cancellationToken = default) =>
            RunAllAsync(ToAsync(items), setInputs, read, cancellationToken);

        private static async IAsyncEnumerable<T> ToAsync<T>(IEnumerable<T> items)
        {
            foreach (T item in items)
            {
                yield return item;
            }

            await Task.CompletedTask.ConfigureAwait(false);
        }

        /// <summary>Waits for an idle job (back-pressure when all are busy) and takes it.</summary>
        protected async ValueTask<TRequest> AcquireAsync(CancellationToken cancellationToken) =>
            (await AcquireJobAsync(cancellationToken).ConfigureAwait(false)).Request;

        /// <summary>Gives back a job that was acquired but not started (e.g. its inputs were rejected).</summary>
        protected void Release(TRequest request) => ReleaseJob(JobOf(request));

        /// <summary>Starts an acquired job whose inputs are staged; <paramref name="userdata"/> goes to the callback.</summary>
        protected void Start(TRequest request, object? userdata, CancellationToken cancellationToken) =>
            StartJob(JobOf(request), userdata, cancellationToken);

        private Job JobOf(TRequest request) => Array.Find(_jobs, j => j.Request == request) ?? throw new ArgumentException("The request is not a job of this queue.", nameof(request));

        private ValueTask<Job> AcquireJobAsync(CancellationToken cancellationToken)
        {
            var waiter = new Waiter();
            lock (_idle)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                cancellationToken.ThrowIfCancellationRequested();
                if (_idle.TryDequeue(out Job? job))
                {
                    return new ValueTask<Job>(job);
                }

                // All jobs are busy: wait for the next one to finish (back-pressure).
                waiter.Node = _waiters.AddLast(waiter);
            }

            if (cancellationToken.CanBeCanceled)
            {
                waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) =>
                {
                    var (queue, waiting) = ((AsyncInferQueue<TRequest>, Waiter))state!;
                    lock (queue._idle)
                    {
                        if (waiting.Node!.List == null)
                        {
                            return; // already handed a job
                        }

                        queue._waiters.Remove(waiting.Node);
                    }

                    waiting.TrySetCanceled(token);
                }, (this, waiter));
                if (waiter.Task.IsCompleted)
                {
                    waiter.Registration.Dispose(); // handed a job before the registration existed
                }
            }

            return new ValueTask<Job>(waiter.Task);
        }

        /// <summary>Makes a job idle, or hands it to the first caller waiting for one.</summary>
        private void ReleaseJob(Job job)
        {
            Waiter? waiter = null;
            lock (_idle)
            {
                if (_waiters.First is LinkedListNode<Waiter> first && !_disposed)
                {
                    _waiters.RemoveFirst();
                    waiter = first.Value;
                }
                else
                {
                    _idle.Enqueue(job);
                }
            }

            if (waiter != null)
            {
                // Outside the lock: the waiter's code continues right here, on this thread.
                waiter.Registration.Dispose();
                if (!waiter.TrySetResult(job))
                {
                    ReleaseJob(job); // it was cancelled meanwhile: the job goes to the next one
                }
            }
        }

        private void StartJob(Job job, object? userdata, CancellationToken cancellationToken)
        {
            job.Userdata = userdata;
            lock (_drainLock)
            {
                _inFlight++;
            }

            try
            {
                job.Request.Untyped.StartForQueue(cancellationToken, job);
            }
            catch
            {
                job.Userdata = null;
                lock (_drainLock)
                {
                    _inFlight--;
                }

                ReleaseJob(job);
                throw;
            }
        }

        /// <summary>Called on the thread-pool thread that ran the job: the callback (or the stream) reads it, then the job is free again.</summary>
        private void OnCompleted(Job job, Exception? error)
        {
            object? userdata = job.Userdata;
            job.Userdata = null;
            try
            {
                if (userdata is IStreamItem item)
                {
                    item.Complete(job.Request, error);
                }
                else
                {
                    if (error != null)
                    {
                        _errors.Enqueue(error);
                    }

                    _callback?.Invoke(job.Request, userdata);
                }
            }
            catch (Exception ex)
            {
                _errors.Enqueue(ex);
            }

            FinishJob(job);
        }

        private void FinishJob(Job job)
        {
            TaskCompletionSource? drained = null;
            lock (_drainLock)
            {
                if (--_inFlight == 0)
                {
                    drained = _drained;
                    _drained = null;
                }
            }

            ReleaseJob(job);
            drained?.TrySetResult();
        }

        private void ThrowCollectedErrors()
        {
            var errors = new List<Exception>();
            while (_errors.TryDequeue(out Exception? error))
            {
                errors.Add(error);
            }

            if (errors.Count == 1)
            {
                ExceptionDispatchInfo.Capture(errors[0]).Throw();
            }

            if (errors.Count > 1)
            {
                throw new AggregateException($"{errors.Count} jobs of the queue failed.", errors);
            }
        }

        /// <summary>
        /// Fails callers waiting for a job, stops jobs in flight and releases every request (each as soon as its
        /// run ends). Never blocks: it may be called from the queue's callback. Harmless when called again.
        /// </summary>
        public void Dispose()
        {
            List<Waiter> waiting;
            lock (_idle)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                waiting = new List<Waiter>(_waiters);
                _waiters.Clear();
            }

            foreach (Waiter waiter in waiting)
            {
                waiter.Registration.Dispose();
                waiter.TrySetException(new ObjectDisposedException(GetType().Name, "The queue was disposed while waiting for an idle job."));
            }

            foreach (Job job in _jobs)
            {
                job.Request.Dispose();
            }
        }

        /// <summary>One of the queue's requests; it hears of its runs' ends directly, not through the request's user-facing callback.</summary>
        private sealed class Job : IRunObserver
        {
            public Job(TRequest request, AsyncInferQueue<TRequest> queue)
            {
                Request = request;
                Queue = queue;
            }

            public TRequest Request { get; }

            public AsyncInferQueue<TRequest> Queue { get; }

            public object? Userdata { get; set; }

            public void OnRunCompleted(InferRequest request, Exception? error) => Queue.OnCompleted(this, error);
        }

        /// <summary>A caller waiting for an idle job; completed on the thread that frees one.</summary>
        private sealed class Waiter : TaskCompletionSource<Job>
        {
            public LinkedListNode<Waiter>? Node;
            public CancellationTokenRegistration Registration;
        }

        private interface IStreamItem
        {
            void Complete(TRequest request, Exception? error);
        }

        /// <summary>One item of <see cref="RunAllAsync{TItem, TOut}(IAsyncEnumerable{TItem}, Action{TRequest, TItem}, Func{TRequest, TOut}, CancellationToken)"/>: its output, read as soon as its job completes.</summary>
        private sealed class StreamItem<TOut> : IStreamItem
        {
            private readonly Func<TRequest, TOut> _read;
            private readonly TaskCompletionSource<TOut> _completion = new TaskCompletionSource<TOut>(TaskCreationOptions.RunContinuationsAsynchronously);

            public StreamItem(Func<TRequest, TOut> read) => _read = read;

            public Task<TOut> Task => _completion.Task;

            public void Complete(TRequest request, Exception? error)
            {
                try
                {
                    if (error != null)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
                    }

                    _completion.TrySetResult(_read(request));
                }
                catch (OperationCanceledException ex)
                {
                    _completion.TrySetCanceled(ex.CancellationToken);
                }
                catch (Exception ex)
                {
                    _completion.TrySetException(ex);
                }
            }
        }
    }
}
