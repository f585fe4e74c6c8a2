using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelSdk
{
    /// <summary>
    /// A model loaded into ONNX Runtime and compiled once; the base of every generated model class.
    /// <c>Run</c> on a generated class uses one reusable request per thread, so concurrent callers
    /// never share buffers and repeated runs allocate nothing.
    /// </summary>
    public abstract class CompiledModel : IDisposable
    {
        private readonly SessionOptions _sessionOptions;
        private readonly Dictionary<ulong, SessionInfo> _prunedSessions = new Dictionary<ulong, SessionInfo>();
        private readonly ModelOptions _options;
        private readonly Stack<InferRequest> _idleLent = new Stack<InferRequest>();
        private readonly Stack<Lease> _spareLeases = new Stack<Lease>();
        private long _nextLeaseId;
        private readonly ThreadLocal<InferRequest> _threadRequests;
        private readonly HashSet<InferRequest> _requests = new HashSet<InferRequest>();
        private volatile bool _disposed;

        /// <summary>Loads the model and checks that the file matches <paramref name="signature"/>.</summary>
        /// <param name="source">The model file or bytes.</param>
        /// <param name="signature">The inputs and outputs the caller was built for.</param>
        /// <param name="options">Session options; null for defaults.</param>
        protected CompiledModel(ModelSource source, ModelSignature signature, ModelOptions? options)
        {
            ArgumentNullException.ThrowIfNull(source);
            ArgumentNullException.ThrowIfNull(signature);
            Signature = signature;
            Source = source;
            _options = options ?? new ModelOptions();
            _sessionOptions = _options.CreateSessionOptions();
            try
            {
                Session = source.CreateSession(_sessionOptions, signature.ModelName);
                try
                {
                    CheckSignature(Session, signature, source);
                }
                catch
                {
                    Session.Dispose();
                    throw;
                }
            }
            catch
            {
                _sessionOptions.Dispose();
                throw;
            }

            _threadRequests = new ThreadLocal<InferRequest>(CreateRequest, trackAllValues: false);
            FullSession = new SessionInfo(Session);
        }

        /// <summary>Where the model's asynchronous runs execute (.NET thread-pool threads).</summary>
        internal RunScheduler Scheduler { get; } = new RunScheduler();

        /// <summary>The session of the whole model.</summary>
        internal SessionInfo FullSession { get; }

        /// <summary>The session's native handle, for calling ONNX Runtime's C API directly on the hot path (null: use the managed wrapper).</summary>
        internal IntPtr? NativeSession => FullSession.Handle;

        /// <summary>
        /// The session to run when only the outputs in <paramref name="mask"/> are wanted: the whole model, or
        /// (<see cref="ModelOptions.PruneUnselectedOutputs"/>) a copy pruned to what those outputs need, made
        /// once per set of outputs. ONNX Runtime runs every node whatever outputs are asked for: only a pruned
        /// model saves the work of the others. When pruning fails (e.g. weights stored outside the file) the
        /// whole model is used.
        /// </summary>
        internal SessionInfo SessionFor(ulong mask)
        {
            ulong everything = 0;
            for (int i = 0; i < Signature.Outputs.Count && i < 64; i++)
            {
                if (Signature.Outputs[i].IsSupported)
                {
                    everything |= 1UL << i;
                }
            }

            if (!_options.PruneUnselectedOutputs || Signature.Outputs.Count > 64 || (mask & everything) == everything)
            {
                return FullSession;
            }

            lock (_prunedSessions)
            {
                if (_prunedSessions.TryGetValue(mask, out SessionInfo? known))
                {
                    return known;
                }

                SessionInfo session = FullSession;
                try
                {
                    var keep = new List<string>();
                    for (int i = 0; i < Signature.Outputs.Count; i++)
                    {
                        if ((mask & (1UL << i)) != 0)
                        {
                            keep.Add(Signature.Outputs[i].Name);
                        }
                    }

                    session = new SessionInfo(new InferenceSession(ModelPruner.Prune(Source.ReadBytes(), keep), _sessionOptions));
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or System.IO.IOException or UnauthorizedAccessException or Generators.Reading.ModelFormatException)
                {
                    // Keep running the whole model: the outputs are right, only the saving is lost.
                }

                _prunedSessions.Add(mask, session);
                return session;
            }
        }

        /// <summary>The options the model was loaded with.</summary>
        public ModelOptions Options => _options;

        /// <summary>A sensible number of parallel jobs for this machine (one per core, at least 2).</summary>
        public static int DefaultJobCount => Math.Max(2, Environment.ProcessorCount);

        /// <summary>The model's inputs and outputs.</summary>
        public ModelSignature Signature { get; }

        /// <summary>Where the model was loaded from.</summary>
        public ModelSource Source { get; }

        /// <summary>The ONNX Runtime session, for settings ModelSdk does not cover.</summary>
        public InferenceSession Session { get; }

        /// <summary>Creates a request of your own: its outputs stay valid until you run it again.</summary>
        public InferRequest CreateRequest()
        {
            ThrowIfDisposed();
            var request = new InferRequest(this) { InputMode = _options.InputMode, AsyncInputMode = _options.AsyncInputMode };
            lock (_requests)
            {
                if (_disposed)
                {
                    request.DisposeCore();
                    ThrowIfDisposed();
                }

                _requests.Add(request);
            }

            return request;
        }

        /// <summary>
        /// A request for one asynchronous run whose result the caller holds: it is lent until the result is
        /// disposed. A result that is never disposed does not leak its request: when the result becomes
        /// unreachable, the lease's finalizer gives the request back.
        /// </summary>
        protected InferRequest RentRequest()
        {
            ThrowIfDisposed();
            InferRequest? request;
            Lease? lease;
            lock (_idleLent)
            {
                _idleLent.TryPop(out request);
                _spareLeases.TryPop(out lease);
            }

            if (lease is null)
            {
                lease = new Lease(this);
            }
            else
            {
                GC.ReRegisterForFinalize(lease); // a spare lease had its finalizer suppressed when it was returned
            }

            request ??= CreateRequest();
            lease.Request = request;
            lease.Id = Interlocked.Increment(ref _nextLeaseId);
            request.LeaseId = lease.Id;
            request.PendingLease = lease; // picked up by the result; the request itself must not keep the lease alive
            return request;
        }

        /// <summary>Takes back a lent request when <paramref name="lease"/> still holds it (a result's Dispose, or its finalizer).</summary>
        internal void ReturnRequest(InferRequest request, Lease? lease, bool fromFinalizer)
        {
            lock (_idleLent)
            {
                if (lease is null || request.LeaseId != lease.Id || lease.Request != request)
                {
                    return;
                }

                request.LeaseId = 0;
                request.PendingLease = null;
                lease.Request = null;
                if (!_disposed)
                {
                    _idleLent.Push(request);
                }

                if (!fromFinalizer)
                {
                    GC.SuppressFinalize(lease);
                    _spareLeases.Push(lease);
                }
            }
        }

        /// <summary>Takes back a lent request whose run could not start or failed (no result holds it).</summary>
        protected void ReturnRequest(InferRequest request) => ReturnRequest(request, request.PendingLease, fromFinalizer: false);

        /// <summary>
        /// Starts the staged run of a lent request on the thread pool; the result wraps the request.
        /// The caller's thread is free meanwhile; the continuation runs on the thread pool (or the caller's context).
        /// </summary>
        protected ValueTask<TResult> RunRentedAsync<TResult>(InferRequest request, CancellationToken cancellationToken, Func<InferRequest, TResult> wrap)
        {
            var run = new RentedRun<TResult>(this, wrap);
            try
            {
                request.StartWithCompletion(cancellationToken, run);
            }
            catch
            {
                ReturnRequest(request);
                throw;
            }

            return new ValueTask<TResult>(run, run.Version);
        }

        /// <summary>
        /// The awaitable of one <c>RunAsync</c> (one small object per call): it holds the result until the
        /// awaiter takes it. Not pooled on purpose: a pooled awaitable (or a cached async state machine)
        /// could keep the last result, and with it the request's lease, alive.
        /// </summary>
        private sealed class RentedRun<TResult> : IRunCompletion, IValueTaskSource<TResult>
        {
            private readonly CompiledModel _model;
            private readonly Func<InferRequest, TResult> _wrap;
            // Completion is signalled from the .NET thread-pool thread that ran the inference (never an ONNX Runtime
            // thread), so the awaiting code may continue right there instead of hopping to yet another thread.
            private ManualResetValueTaskSourceCore<TResult> _core = new ManualResetValueTaskSourceCore<TResult> { RunContinuationsAsynchronously = false };

            public RentedRun(CompiledModel model, Func<InferRequest, TResult> wrap)
            {
                _model = model;
                _wrap = wrap;
            }

            public short Version => _core.Version;

            public void OnRunCompleted(InferRequest request, Exception? error)
            {
                if (error is null)
                {
                    _core.SetResult(_wrap(request));
                }
                else
                {
                    _model.ReturnRequest(request); // no result will hold it
                    _core.SetException(error);
                }
            }

            public TResult GetResult(short token) => _core.GetResult(token);

            public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

            public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
                _core.OnCompleted(continuation, state, token, flags);
        }

        /// <summary>Ties a lent request to the result that holds it; its finalizer returns the request if the result is dropped undisposed.</summary>
        internal sealed class Lease
        {
            private readonly CompiledModel _model;

            public Lease(CompiledModel model) => _model = model;

            public InferRequest? Request { get; set; }

            public long Id { get; set; }

            ~Lease()
            {
                if (Request is InferRequest request)
                {
                    _model.ReturnRequest(request, this, fromFinalizer: true);
                }
            }
        }

        /// <summary>The calling thread's reusable request (created on first use).</summary>
        protected InferRequest CurrentThreadRequest()
        {
            ThrowIfDisposed();
            InferRequest request = _threadRequests.Value!;
            return request;
        }

        /// <summary>How many requests the model holds (thread, lent and own ones); for tests.</summary>
        internal int RequestCount
        {
            get
            {
                lock (_requests)
                {
                    return _requests.Count;
                }
            }
        }

        /// <summary>How many lent requests are back and idle; for tests.</summary>
        internal int IdleLentCount
        {
            get
            {
                lock (_idleLent)
                {
                    return _idleLent.Count;
                }
            }
        }

        internal void Forget(InferRequest request)
        {
            lock (_requests)
            {
                _requests.Remove(request);
            }
        }

        /// <summary>True once Dispose has begun; a request that sees it after marking itself busy does not run.</summary>
        internal bool IsDisposed => _disposed;

        /// <summary>
        /// Releases the session and every request. Runs in progress on other threads are allowed to
        /// finish first (native memory is never freed under a running inference).
        /// </summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;

            // Pairs with InferRequest.BeginRun (busy flag, then this flag): either the run sees the model disposed,
            // or this sees the request busy and waits for it below.
            Interlocked.MemoryBarrier();
            InferRequest[] running;
            lock (_requests)
            {
                running = _requests.ToArray();
            }

            foreach (InferRequest request in running)
            {
                request.Cancel(); // in-flight asynchronous runs stop at the next operator; their tasks end as cancelled
            }

            foreach (InferRequest request in running)
            {
                SpinWait.SpinUntil(() => !request.IsBusy); // native memory is never freed under a running inference
            }

            InferRequest[] requests;
            lock (_requests)
            {
                requests = _requests.ToArray();
                _requests.Clear();
            }

            foreach (InferRequest request in requests)
            {
                request.DisposeCore();
            }

            _threadRequests.Dispose();
            lock (_prunedSessions)
            {
                foreach (SessionInfo pruned in _prunedSessions.Values)
                {
                    if (pruned != FullSession)
                    {
                        pruned.Session.Dispose();
                    }
                }
            }

            Session.Dispose();
            _sessionOptions.Dispose();
            GC.SuppressFinalize(this);
        }

        /// <summary>Throws <see cref="ObjectDisposedException"/> once the model is disposed.</summary>
        protected void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(GetType().Name, $"Model '{Signature.ModelName}' was disposed.");
            }
        }

        /// <summary>Checks that the loaded file has the inputs and outputs the class was generated for.</summary>
        private static void CheckSignature(InferenceSession session, ModelSignature expected, ModelSource source)
        {
            var problems = new List<string>();
            Compare("input", expected.Inputs, session.InputMetadata, problems);
            Compare("output", expected.Outputs, session.OutputMetadata, problems);
            if (problems.Count > 0)
            {
                throw new ModelLoadException(
                    $"The model file {source} does not match model '{expected.ModelName}' as it was generated at build time: " +
                    string.Join("; ", problems) + ". Rebuild the project with this model file, or load the file the class was generated from.");
            }
        }

        private static void Compare(string kind, IReadOnlyList<TensorInfo> expected, IReadOnlyDictionary<string, NodeMetadata> actual, List<string> problems)
        {
            foreach (TensorInfo info in expected)
            {
                if (!actual.TryGetValue(info.Name, out NodeMetadata? metadata))
                {
                    problems.Add($"{kind} '{info.Name}' is missing");
                    continue;
                }

                if (!info.IsSupported)
                {
                    continue;
                }

                OnnxElementType actualType = metadata.IsTensor ? (OnnxElementType)(int)metadata.ElementDataType : OnnxElementType.Undefined;
                if (actualType != info.ElementType)
                {
                    problems.Add($"{kind} '{info.Name}' has element type {OnnxElementTypes.OnnxName(actualType)}, expected {OnnxElementTypes.OnnxName(info.ElementType)}");
                    continue;
                }

                if (kind == "input" && info.HasShape && metadata.Dimensions.Length == info.Rank)
                {
                    for (int d = 0; d < info.Rank; d++)
                    {
                        if (info.Dims[d].IsFixed && metadata.Dimensions[d] >= 0 && metadata.Dimensions[d] != info.Dims[d].Value)
                        {
                            problems.Add($"{kind} '{info.Name}' has dimension {d} = {metadata.Dimensions[d]}, expected {info.Dims[d].Value}");
                        }
                    }
                }
                else if (kind == "input" && info.HasShape && metadata.Dimensions.Length != info.Rank)
                {
                    problems.Add($"{kind} '{info.Name}' has rank {metadata.Dimensions.Length}, expected {info.Rank}");
                }
            }

            foreach (string name in actual.Keys)
            {
                if (!expected.Any(i => i.Name == name))
                {
                    problems.Add($"the file has an extra {kind} '{name}'");
                }
            }
        }
    }
}
