using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace ModelSdk
{
    /// <summary>
    /// A dynamic batcher: many concurrent single-item calls become one batched run of the model along its batch
    /// dim, and each caller gets its own item's slice of every output. The base of a generated model's
    /// <c>Batcher</c> (see its <c>CreateBatcher</c>), after Triton's dynamic batcher; see <see cref="BatchingOptions"/>
    /// for when a batch starts.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Each item's inputs are read (copied once into a pinned batch buffer the job keeps) when its batch starts, so
    /// don't change them until the call completes. Results are owned: each holds a copy of its item's rows.
    /// Results are those of running each item alone, when the model's operators treat rows independently (most do:
    /// MatMul, Gemm, convolutions, element-wise ops; batch normalization in inference mode too).
    /// </para>
    /// <para>
    /// Batches run on the .NET thread pool through the model's own requests, so a <see cref="CompiledModel.Reload(ModelSource)"/>
    /// takes effect from the next batch. Cancelling an item before its batch starts removes it; after, the call
    /// ends as cancelled at once and its rows are dropped. <see cref="Dispose"/> never blocks: items still waiting
    /// fail with <see cref="ObjectDisposedException"/>, batches running finish.
    /// </para>
    /// </remarks>
    public abstract class ModelBatcher : IDisposable, IAsyncDisposable
    {
        private readonly CompiledModel _model;
        private readonly BatchLayout _layout;
        private readonly OutputLayout _itemOutputs;
        private readonly BatchingOptions _options;
        private readonly ulong _outputs;
        private readonly int _maxBatch;
        private readonly int[] _preferred;
        private readonly long _maxDelayTicks;
        private readonly object _gate = new object();
        private readonly Queue<BatchItem> _waiting = new Queue<BatchItem>();
        private readonly Stack<Job> _freeJobs = new Stack<Job>();
        private readonly SemaphoreSlim _room;
        private readonly CancellationTokenSource _disposing = new CancellationTokenSource();
        private readonly TaskCompletionSource _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Timer _timer;
        private int _live;         // items waiting (not cancelled)
        private int _launching;    // jobs queued to the thread pool that have not taken their items yet
        private int _covered;      // items those jobs will take (the sum of their targets)
        private int _running;      // jobs out of the free stack
        private int _handouts;     // chunks of results being handed out
        private bool _timerArmed;
        private long _timerDue;
        private bool _disposed;
        private long _batchesRun;
        private long _itemsRun;

        /// <summary>Creates a batcher over <paramref name="model"/> along the symbolic dim <paramref name="batchDim"/>.</summary>
        /// <param name="model">The model whose runs the batches are.</param>
        /// <param name="batchDim">The name of the leading symbolic dim every input and selected output shares.</param>
        /// <param name="options">When batches start, how many run at once, how many items may wait; null for defaults.</param>
        /// <param name="outputs">The outputs each batch produces (bit <c>i</c>: output <c>i</c>); 0 for all.</param>
        /// <exception cref="NotSupportedException">The model can't be batched along <paramref name="batchDim"/>: the message says which input or output and why.</exception>
        /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
        protected ModelBatcher(CompiledModel model, string batchDim, BatchingOptions? options, ulong outputs)
        {
            ArgumentNullException.ThrowIfNull(model);
            _model = model;
            _options = options is null ? new BatchingOptions() : new BatchingOptions(options);
            _options.Validate();
            _outputs = outputs != 0 ? outputs : AllOutputs(model.Signature);
            _layout = BatchLayout.Create(model.Signature, batchDim, _outputs);
            _itemOutputs = new OutputLayout(_layout.Item);
            _maxBatch = _options.MaxBatchSize;
            _preferred = _options.SortedPreferredSizes();
            _maxDelayTicks = (long)(_options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
            _room = new SemaphoreSlim(_options.MaxQueueLength, _options.MaxQueueLength);
            for (int i = 0; i < _options.EffectiveJobs; i++)
            {
                _freeJobs.Push(new Job(this));
            }

            _timer = new Timer(static s => ((ModelBatcher)s!).OnTimer(), this, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>The model the batches run.</summary>
        public CompiledModel Model => _model;

        /// <summary>The options this batcher was created with (a copy).</summary>
        public BatchingOptions Options => new BatchingOptions(_options);

        /// <summary>The batch dim's name.</summary>
        public string BatchDim => _layout.BatchDim;

        /// <summary>The inputs and outputs of one item: the model's, without the batch dim.</summary>
        public ModelSignature ItemSignature => _layout.Item;

        /// <summary>Items waiting for a batch right now.</summary>
        public int QueueLength => Volatile.Read(ref _live);

        /// <summary>Batches being gathered, run or scattered right now.</summary>
        public int BatchesInFlight => Volatile.Read(ref _running);

        /// <summary>Batches run so far.</summary>
        public long BatchesRun => Interlocked.Read(ref _batchesRun);

        /// <summary>Items run so far (the mean batch size is <c>ItemsRun / BatchesRun</c>).</summary>
        public long ItemsRun => Interlocked.Read(ref _itemsRun);

        /// <summary>Called on the job's thread with the size of each batch it took, before the batch runs (tests pause batches here).</summary>
        internal Action<int>? BatchTakenForTests { get; set; }

        /// <summary>A new item for one call (generated code: then <see cref="SetInput{T}"/> for each input and <see cref="Enqueue{TResult}"/>).</summary>
        protected BatchItem NewItem()
        {
            if (Volatile.Read(ref _disposed))
            {
                throw Disposed();
            }

            return new BatchItem(this, _layout.Item.Inputs.Count);
        }

        /// <summary>Gives an item its input <paramref name="index"/>: one item's elements (the batch dim left out), checked here.</summary>
        /// <exception cref="ArgumentException">The element type or the number of elements does not match one item of the input.</exception>
        protected void SetInput<T>(BatchItem item, int index, ReadOnlyMemory<T> data)
            where T : unmanaged
        {
            ArgumentNullException.ThrowIfNull(item);
            ModelSignature signature = _layout.Item;
            if ((uint)index >= (uint)item.Inputs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{signature.ModelName}' has {item.Inputs.Length} inputs.");
            }

            if (ElementTypeOf<T>.Value != signature.Inputs[index].ElementType)
            {
                throw ModelErrors.InputType(signature, index, ElementTypeOf<T>.Value);
            }

            long expected = _layout.InputRowElements[index];
            if (data.Length != expected)
            {
                TensorInfo input = signature.Inputs[index];
                throw new ArgumentException(
                    $"Input '{input.Name}' of model '{signature.ModelName}' takes {expected} elements per item ({OnnxElementTypes.OnnxName(input.ElementType)} {input.ShapeText}: " +
                    $"one row of {_layout.Model.Inputs[index].ShapeText} along '{BatchDim}') but received {data.Length}.",
                    input.Name);
            }

            item.Inputs[index] = ItemInput.From(data);
        }

        /// <summary>
        /// Queues an item whose inputs are all set; the returned task completes with <paramref name="result"/> holding the
        /// item's outputs once its batch has run.
        /// </summary>
        /// <exception cref="BatchQueueFullException">The queue is full and <see cref="BatchingOptions.QueueFullMode"/> is Reject.</exception>
        /// <exception cref="ObjectDisposedException">The batcher was disposed.</exception>
        protected ValueTask<TResult> Enqueue<TResult>(BatchItem item, TResult result, CancellationToken cancellationToken)
            where TResult : OwnedRunResult<TResult>
        {
            ArgumentNullException.ThrowIfNull(item);
            ArgumentNullException.ThrowIfNull(result);
            if (item.Owner != this || item.Result != null || !item.HasEveryInput)
            {
                throw new ArgumentException("The item must come from this batcher's NewItem, have every input set, and be queued once.", nameof(item));
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<TResult>(cancellationToken);
            }

            item.Result = result;
            if (!_room.Wait(0))
            {
                if (Volatile.Read(ref _disposed))
                {
                    throw Disposed();
                }

                if (_options.QueueFullMode == BatchQueueFullMode.Reject)
                {
                    ModelMetrics.BatchItemRejected(_model);
                    throw new BatchQueueFullException(
                        $"The batcher of model '{_model.Signature.ModelName}' has {_options.MaxQueueLength} items waiting (BatchingOptions.MaxQueueLength) " +
                        "and rejects further ones (QueueFullMode Reject): retry later, raise MaxQueueLength, or set QueueFullMode to Wait.");
                }

                return AdmitWhenRoomAsync(item, result, cancellationToken);
            }

            Admit(item, cancellationToken);
            return new ValueTask<TResult>(result, result.Token);
        }

        private async ValueTask<TResult> AdmitWhenRoomAsync<TResult>(BatchItem item, TResult result, CancellationToken cancellationToken)
            where TResult : OwnedRunResult<TResult>
        {
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token))
            {
                try
                {
                    await _room.WaitAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw Disposed();
                }
            }

            Admit(item, cancellationToken);
            return await new ValueTask<TResult>(result, result.Token).ConfigureAwait(false);
        }

        /// <summary>Queues an item that holds a place in the queue (<see cref="_room"/>), and starts a job when a batch is due.</summary>
        private void Admit(BatchItem item, CancellationToken cancellationToken)
        {
            Job? start = null;
            lock (_gate)
            {
                if (_disposed)
                {
                    _room.Release();
                    throw Disposed();
                }

                item.EnqueuedAt = Stopwatch.GetTimestamp();
                _waiting.Enqueue(item);
                _live++;
                start = ClaimJobIfDueLocked(item.EnqueuedAt);
            }

            if (cancellationToken.CanBeCanceled)
            {
                item.Register(cancellationToken);
            }

            if (start != null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(start, preferLocal: false);
            }
        }

        /// <summary>
        /// A free job, when a batch is due and no job already on its way will take the waiting items; else null, and the
        /// timer is armed for when one will be. While results are handed out, the callers they resume are likely to come
        /// straight back: a batch that is not full then waits for the handout to end (at most <see cref="HandoutWaitMs"/>,
        /// so a continuation that blocks delays batches, never stops them), instead of starting with the first few.
        /// </summary>
        private Job? ClaimJobIfDueLocked(long now, bool waitedForHandouts = false)
        {
            int uncovered = _live - _covered;
            if (uncovered <= 0 || _freeJobs.Count == 0)
            {
                return null;
            }

            if (!IsDueLocked(uncovered, now))
            {
                ArmTimerLocked(DeadlineLocked(), now);
                return null;
            }

            if (_handouts > 0 && uncovered < _maxBatch && !waitedForHandouts)
            {
                ArmTimerLocked(now + HandoutWaitMs * Stopwatch.Frequency / 1000, now);
                return null;
            }

            // What waits is spread over the free jobs: a core left idle is worth more than a bigger batch (one batch of 32
            // and an idle job ran mlp_mid_batch at 32 callers 2x slower than two of 16; compute_bound_batch at 2 callers,
            // 0.55x of two single runs). Batches grow by themselves once every job is busy.
            // Only without a delay or preferred sizes, where every waiting item is due: otherwise a share could leave
            // items behind that are not due yet.
            Job job = _freeJobs.Pop();
            int jobs = _maxDelayTicks == 0 && _preferred.Length == 0 ? Math.Min(_freeJobs.Count + 1, uncovered) : 1;
            job.Target = jobs >= 2 ? Math.Min(_maxBatch, (uncovered + jobs - 1) / jobs) : _maxBatch;
            _launching++;
            _covered += job.Target;
            _running++;
            return job;
        }


        /// <summary>How long a batch that is not full waits for a handout in progress to end.</summary>
        private const int HandoutWaitMs = 1;

        private bool IsDueLocked(int waiting, long now)
        {
            if (waiting >= _maxBatch || _maxDelayTicks == 0 || (_preferred.Length > 0 && waiting >= _preferred[0]))
            {
                return true;
            }

            // By deadline: only when no job is on its way (one that is would take the oldest items).
            return _launching == 0 && now >= DeadlineLocked();
        }

        /// <summary>When the oldest waiting item has waited <see cref="BatchingOptions.MaxDelay"/> (long.MaxValue when none waits).</summary>
        private long DeadlineLocked() => OldestLocked() is BatchItem oldest ? oldest.EnqueuedAt + _maxDelayTicks : long.MaxValue;

        /// <summary>The oldest waiting item; cancelled items at the head are dropped on the way.</summary>
        private BatchItem? OldestLocked()
        {
            while (_waiting.TryPeek(out BatchItem? head))
            {
                if (Volatile.Read(ref head.State) == BatchItem.Pending)
                {
                    return head;
                }

                _waiting.Dequeue();
            }

            return null;
        }

        /// <summary>Has the timer fire at <paramref name="due"/> (a Stopwatch timestamp), unless it fires earlier already.</summary>
        private void ArmTimerLocked(long due, long now)
        {
            if (due == long.MaxValue || _disposed || (_timerArmed && _timerDue <= due))
            {
                return;
            }

            _timerArmed = true;
            _timerDue = due;
            long ms = Math.Max(1, (due - now + Stopwatch.Frequency / 1000 - 1) * 1000 / Stopwatch.Frequency);
            _timer.Change(ms, Timeout.Infinite);
        }

        private void OnTimer()
        {
            Job? start;
            List<Job>? others = null;
            lock (_gate)
            {
                _timerArmed = false;
                if (_disposed)
                {
                    return;
                }

                start = ClaimDueJobsLocked(Stopwatch.GetTimestamp(), waitedForHandouts: true, ref others);
            }

            if (start != null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(start, preferLocal: false);
            }

            Launch(others);
        }

        /// <summary>The cancellation of an item: removed while it waits; after its batch started, the call ends at once and its rows are dropped.</summary>
        internal void OnItemCancelled(BatchItem item)
        {
            if (item.TryMove(BatchItem.Pending, BatchItem.Cancelled))
            {
                lock (_gate)
                {
                    if (!_disposed) // Dispose counted every waiting item out already
                    {
                        _live--;
                        OldestLocked(); // drops it if it is at the head
                    }
                }

                _room.Release();
            }
            else if (!item.TryMove(BatchItem.Taken, BatchItem.Cancelled))
            {
                return; // done already
            }

            item.Result!.Fail(new OperationCanceledException(item.Token));
        }

        /// <summary>
        /// A job: takes up to a batch of waiting items, runs them as one, hands out the rows, and goes on with the next
        /// batch on this thread when one is due once the handout ends (a lone caller in a loop runs without thread hops).
        /// </summary>
        private void RunJob(Job? job)
        {
            while (job != null)
            {
                int n;
                lock (_gate)
                {
                    _launching--; // claimed by ClaimJobIfDueLocked
                    _covered -= job.Target;
                    n = TakeBatchLocked(job.Items, job.Target);
                    if (n == 0)
                    {
                        ReleaseJobLocked(job);
                        return;
                    }
                }

                job = RunTaken(job, n).Dispatch();
            }
        }

        /// <summary>Runs the <paramref name="n"/> items the job took and frees the job; the items leave in the returned handout.</summary>
        private Handout RunTaken(Job job, int n)
        {
            _room.Release(n);
            BatchTakenForTests?.Invoke(n);
            Exception? error = null;
            OutputSet[]? rows = null;
            try
            {
                rows = RunBatch(job, job.Items, n);
            }
            catch (Exception ex)
            {
                error = ex;
            }

            Interlocked.Increment(ref _batchesRun);
            Interlocked.Add(ref _itemsRun, n);
            ModelMetrics.BatchRan(_model, n);
            BatchItem[] items = job.Items.AsSpan(0, n).ToArray();
            Array.Clear(job.Items, 0, n);
            int chunks = Math.Min(n, Environment.ProcessorCount);
            lock (_gate)
            {
                _handouts += chunks;
                ReleaseJobLocked(job); // from here on another thread may run the job: touch none of its state
            }

            return new Handout(this, items, rows, error, chunks);
        }

        /// <summary>A chunk of a handout ended; the last one to end starts the next batch if one is due (on this thread: the caller runs it).</summary>
        private Job? HandoutEnded()
        {
            Job? here = null;
            List<Job>? others = null;
            lock (_gate)
            {
                _handouts--;
                if (_handouts == 0 && !_disposed)
                {
                    here = ClaimDueJobsLocked(Stopwatch.GetTimestamp(), waitedForHandouts: false, ref others);
                }
            }

            Launch(others);
            return here;
        }

        /// <summary>Claims a job for what is due, and more for the rest of it (spread over free jobs); the first is returned, the others listed.</summary>
        private Job? ClaimDueJobsLocked(long now, bool waitedForHandouts, ref List<Job>? others)
        {
            Job? first = ClaimJobIfDueLocked(now, waitedForHandouts);
            while (first != null && ClaimJobIfDueLocked(now, waitedForHandouts) is Job other)
            {
                (others ??= new List<Job>()).Add(other);
            }

            return first;
        }

        private static void Launch(List<Job>? jobs)
        {
            if (jobs != null)
            {
                foreach (Job job in jobs)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
                }
            }
        }

        private int TakeBatchLocked(BatchItem[] batch, int share)
        {
            int target = Math.Min(_live, share);
            if (_preferred.Length > 0 && target >= _preferred[0])
            {
                target = _preferred[Array.FindLastIndex(_preferred, p => p <= target)];
            }

            int n = 0;
            while (n < target && _waiting.TryDequeue(out BatchItem? item))
            {
                if (item.TryMove(BatchItem.Pending, BatchItem.Taken))
                {
                    batch[n++] = item;
                    _live--;
                }
            }

            return n;
        }

        private void ReleaseJobLocked(Job job)
        {
            _freeJobs.Push(job);
            _running--;
            if (_live > 0)
            {
                ArmTimerLocked(DeadlineLocked(), Stopwatch.GetTimestamp());
            }

            if (_disposed && _running == 0)
            {
                _idle.TrySetResult();
            }
        }

        /// <summary>Gathers the items' inputs into the job's buffers, runs the model once, and cuts each output into per-item rows.</summary>
        private OutputSet[] RunBatch(Job job, BatchItem[] batch, int n)
        {
            int inputs = _layout.Item.Inputs.Count;
            for (int i = 0; i < inputs; i++)
            {
                int row = _layout.InputRowBytes[i];
                Span<byte> buffer = job.Buffer(i, row);
                for (int k = 0; k < n; k++)
                {
                    batch[k].Inputs[i].CopyTo(buffer.Slice(k * row, row));
                    batch[k].Inputs[i] = default; // the caller's memory is not needed any more
                }

                job.Shapes[i][0] = n;
            }

            if (_model.RefusesRuns)
            {
                throw _model.Refusal();
            }

            // A request of the model's pool for each batch (the current version; the pool keeps about one per job).
            InferRequest request = _model.Pool.Rent();
            try
            {
                return CutRows(batch, n, RunGathered(request, job, n).Data);
            }
            finally
            {
                request.ReturnToPool();
            }
        }

        /// <summary>Each item's rows of every output the batch produced, copied out (null for items cancelled meanwhile).</summary>
        private OutputSet[] CutRows(BatchItem[] batch, int n, OutputSet set)
        {
            long version = set.Version;
            var rows = new OutputSet[n];
            for (int k = 0; k < n; k++)
            {
                rows[k] = Volatile.Read(ref batch[k].State) == BatchItem.Taken ? new OutputSet(_layout.Item, _itemOutputs, allocateShapes: false) : null!;
            }

            ModelSignature model = _layout.Model;
            for (int o = 0; o < set.Items.Length; o++)
            {
                OutputData data = set.Items[o];
                if (_itemOutputs.FirstWithName[o] != o || !data.Produced)
                {
                    continue;
                }

                if (data.Shape.Length == 0 || data.Shape[0] != n)
                {
                    throw new InvalidOperationException(
                        $"Output '{model.Outputs[o].Name}' of model '{model.ModelName}' came back with shape [{string.Join(", ", data.Shape)}] from a batch of {n}: " +
                        $"its first dim is not the batch ('{BatchDim}'), so it can't be cut into items. Leave it out of the batcher's outputs.");
                }

                set.CheckFresh(o, version);
                long[] itemShape = data.Shape.AsSpan(1).ToArray();
                long elements = data.ElementCount / n;
                int rowBytes = checked((int)(elements * data.ElementSize));
                ReadOnlySpan<byte> all = data.Bytes();
                for (int k = 0; k < n; k++)
                {
                    rows[k]?.Items[o].SetRow(itemShape, elements, all.Slice(k * rowBytes, rowBytes));
                }
            }

            return rows;
        }

        /// <summary>The batched run on a rented request, the inputs read in place from the job's pinned buffers.</summary>
        private RunOutputs RunGathered(InferRequest request, Job job, int n)
        {
            ReadOnlySpan<SymbolValue> symbols = stackalloc SymbolValue[] { new SymbolValue(_layout.Symbol, n) };
            int count = _layout.Item.Inputs.Count;
            if (count > InferRequest.MaxPinnedInputs)
            {
                for (int i = InferRequest.MaxPinnedInputs; i < count; i++)
                {
                    request.CopyHeld(i, job.Arg(i, n));
                }

                return request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n), job.Arg(3, n),
                    job.Arg(4, n), job.Arg(5, n), job.Arg(6, n), job.Arg(7, n));
            }

            return count switch
            {
                1 => request.RunHeld(_outputs, symbols, job.Arg(0, n)),
                2 => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n)),
                3 => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n)),
                4 => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n), job.Arg(3, n)),
                5 => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n), job.Arg(3, n), job.Arg(4, n)),
                6 => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n), job.Arg(3, n), job.Arg(4, n), job.Arg(5, n)),
                7 => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n), job.Arg(3, n), job.Arg(4, n), job.Arg(5, n), job.Arg(6, n)),
                _ => request.RunHeld(_outputs, symbols, job.Arg(0, n), job.Arg(1, n), job.Arg(2, n), job.Arg(3, n), job.Arg(4, n), job.Arg(5, n), job.Arg(6, n), job.Arg(7, n)),
            };
        }

        private static ulong AllOutputs(ModelSignature signature)
        {
            ulong mask = 0;
            for (int o = 0; o < Math.Min(signature.Outputs.Count, 64); o++)
            {
                if (signature.Outputs[o].IsSupported)
                {
                    mask |= 1UL << o;
                }
            }

            return mask;
        }

        private ObjectDisposedException Disposed() =>
            new ObjectDisposedException(GetType().FullName, $"The batcher of model '{_model.Signature.ModelName}' was disposed.");

        /// <summary>
        /// Refuses new items and fails those still waiting with <see cref="ObjectDisposedException"/>; batches already
        /// running finish and hand out their results. Never blocks; harmless when called again.
        /// </summary>
        public void Dispose()
        {
            var drained = new List<BatchItem>();
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                while (_waiting.TryDequeue(out BatchItem? item))
                {
                    if (item.TryMove(BatchItem.Pending, BatchItem.Done))
                    {
                        drained.Add(item);
                    }
                }

                _live = 0;
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                if (_running == 0)
                {
                    _idle.TrySetResult();
                }
            }

            _timer.Dispose();
            _disposing.Cancel();
            ObjectDisposedException error = Disposed();
            foreach (BatchItem item in drained)
            {
                item.Unregister();
                item.Result!.Fail(error);
            }

            GC.SuppressFinalize(this);
        }

        /// <summary>Disposes the batcher (see <see cref="Dispose"/>) and completes once the batches running have handed out their results.</summary>
        public ValueTask DisposeAsync()
        {
            Dispose();
            return new ValueTask(_idle.Task);
        }

        /// <summary>
        /// A batch's results on their way to its callers. Each caller continues (until its next <c>await</c>) on the thread
        /// that hands it its result: the batch is cut into one chunk per core, each handed out by one thread-pool work
        /// item, the last by the job's own thread (one work item per caller measured up to 4x slower under load: every
        /// completion woke a thread).
        /// </summary>
        private sealed class Handout : IThreadPoolWorkItem
        {
            private readonly ModelBatcher _owner;
            private readonly BatchItem[] _items;
            private readonly OutputSet[]? _rows;
            private readonly Exception? _error;
            private readonly int _chunks;
            private readonly int _start;
            private readonly int _end;

            public Handout(ModelBatcher owner, BatchItem[] items, OutputSet[]? rows, Exception? error, int chunks)
                : this(owner, items, rows, error, chunks, 0, items.Length)
            {
            }

            private Handout(ModelBatcher owner, BatchItem[] items, OutputSet[]? rows, Exception? error, int chunks, int start, int end)
            {
                _owner = owner;
                _items = items;
                _rows = rows;
                _error = error;
                _chunks = chunks;
                _start = start;
                _end = end;
            }

            /// <summary>Queues every chunk but the last, hands out the last here; returns the next job to run here, if one is due.</summary>
            public Job? Dispatch()
            {
                int size = (_items.Length + _chunks - 1) / _chunks;
                for (int c = 0; c < _chunks - 1; c++)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(new Handout(_owner, _items, _rows, _error, 1, c * size, Math.Min(_items.Length, (c + 1) * size)), preferLocal: false);
                }

                return new Handout(_owner, _items, _rows, _error, 1, (_chunks - 1) * size, _items.Length).HandOut();
            }

            public void Execute()
            {
                Job? next = HandOut();
                if (next != null)
                {
                    _owner.RunJob(next);
                }
            }

            private Job? HandOut()
            {
                for (int k = _start; k < _end; k++)
                {
                    BatchItem item = _items[k];
                    if (!item.TryMove(BatchItem.Taken, BatchItem.Done))
                    {
                        continue; // cancelled after its batch started: the call has ended, its rows are dropped
                    }

                    item.Unregister();
                    try
                    {
                        if (_rows != null)
                        {
                            item.Result!.Complete(_rows[k], inline: true);
                        }
                        else
                        {
                            item.Result!.Fail(_error!);
                        }
                    }
                    catch (Exception)
                    {
                        // A continuation's own failure goes to its task, never here; nothing else may stop the other callers' results.
                    }
                }

                return _owner.HandoutEnded();
            }
        }

        /// <summary>One batch at a time: the items it took and the pinned buffers their inputs are gathered into.</summary>
        private sealed class Job : IThreadPoolWorkItem
        {
            private readonly ModelBatcher _owner;
            private readonly byte[]?[] _buffers;

            public Job(ModelBatcher owner)
            {
                _owner = owner;
                Items = new BatchItem[owner._maxBatch];
                int inputs = owner._layout.Item.Inputs.Count;
                _buffers = new byte[]?[inputs];
                Shapes = new nint[inputs][];
                for (int i = 0; i < inputs; i++)
                {
                    IReadOnlyList<Dim> dims = owner._layout.Model.Inputs[i].Dims;
                    Shapes[i] = new nint[dims.Count];
                    for (int d = 1; d < dims.Count; d++)
                    {
                        Shapes[i][d] = (nint)dims[d].Value;
                    }
                }
            }

            public BatchItem[] Items { get; }

            /// <summary>How many waiting items this job takes when it starts (set when it is claimed).</summary>
            public int Target { get; set; }

            /// <summary>Per input, the shape of the current batch (the first dim set per batch).</summary>
            public nint[][] Shapes { get; }

            /// <summary>The buffer of input <paramref name="index"/>, made on first use for a full batch (pinned: ONNX Runtime reads it in place).</summary>
            public Span<byte> Buffer(int index, int rowBytes) =>
                _buffers[index] ??= GC.AllocateUninitializedArray<byte>(Math.Max(8, rowBytes * _owner._maxBatch), pinned: true);

            public InputArg Arg(int index, int n) =>
                InputArg.FromBytes(_owner._layout.Model.Inputs[index].ElementType, _buffers[index].AsSpan(0, n * _owner._layout.InputRowBytes[index]), Shapes[index]);

            public void Execute() => _owner.RunJob(this);
        }
    }

    /// <summary>What ModelSdk.Hosting needs to create a generated batcher for a registered model.</summary>
    /// <typeparam name="TSelf">The generated batcher type.</typeparam>
    public interface IModelBatcher<TSelf>
        where TSelf : ModelBatcher, IModelBatcher<TSelf>
    {
        /// <summary>The generated model class the batcher runs.</summary>
        static abstract Type ModelType { get; }

        /// <summary>Creates a batcher over <paramref name="model"/> (an instance of <see cref="ModelType"/>) producing every output.</summary>
        static abstract TSelf Create(CompiledModel model, BatchingOptions? options);
    }
}
