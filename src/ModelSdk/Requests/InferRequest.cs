using System;
using System.Runtime.CompilerServices;
using System.Threading;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>The life of a request. Every request is in exactly one state; every run ends in <see cref="Completed"/>, <see cref="Faulted"/> or <see cref="Disposed"/>.</summary>
    public enum RequestState
    {
        /// <summary>Ready; no results yet (or none any more).</summary>
        Idle,

        /// <summary>Inputs are staged for the next asynchronous run.</summary>
        Staged,

        /// <summary>A run is in progress (or the request is being set up by one call).</summary>
        Running,

        /// <summary>The last run succeeded: its outputs can be read until the next run.</summary>
        Completed,

        /// <summary>The last run failed: <see cref="InferRequest.Error"/> says why.</summary>
        Faulted,

        /// <summary>Released; nothing can run it again.</summary>
        Disposed,
    }

    /// <summary>
    /// One inference request of a model: an ONNX Runtime I/O binding with its inputs and outputs bound once
    /// and re-bound only when a buffer or a shape changes, so that repeated runs allocate nothing. A request
    /// runs one inference at a time; its outputs are views that stay valid until it runs again.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Generated classes drive requests through typed members; the members here take inputs and outputs by
    /// index (graph order), for tools that don't know the model at compile time.
    /// </para>
    /// <para>
    /// Thread safety: every public member may be called from any thread at any time. Calls that change the
    /// request while it runs throw <see cref="InvalidOperationException"/> (REQUEST_BUSY) instead of corrupting
    /// it; <see cref="Dispose()"/> never blocks: a run in flight is stopped and the request is released when it
    /// ends (the run then ends with <see cref="ObjectDisposedException"/>).
    /// </para>
    /// </remarks>
    public sealed unsafe partial class InferRequest : IDisposable
    {
        // The state: one of these codes, plus DisposeRequested while a holder or a run has to finish first.
        private const int IdleCode = (int)RequestState.Idle;
        private const int StagedCode = (int)RequestState.Staged;
        private const int RunningCode = (int)RequestState.Running;
        private const int CompletedCode = (int)RequestState.Completed;
        private const int FaultedCode = (int)RequestState.Faulted;
        private const int DisposedCode = (int)RequestState.Disposed;
        private const int ReservedCode = 6;         // held by one call (setting it up), not running
        private const int DisposeRequested = 0x10;

        private readonly CompiledModel _model;
        private readonly ModelSignature _signature;
        private readonly OutputLayout _layout;
        private readonly RunOptionsHandle _runOptions;
        private readonly IntPtr _runOptionsHandle;
        private readonly InputSlot[] _inputs;
        private readonly OutputSlot[] _outputs;
        private readonly OutputSlot[] _boundOrder;  // selected outputs in the order ONNX Runtime reports bound values
        private readonly ShapeResolver _shapes;
        private readonly ModelVersion _modelVersion; // the loaded version of the model this request runs
        private ModelSession _session;              // its whole model, or a copy pruned to the selected outputs
        private IntPtr _sessionHandle;              // its native handle, for the hot path
        private IoBindingHandle _binding;
        private IntPtr _bindingHandle;
        private OutputSet? _current;                // where runs write; null after it was lent to a result
        private OutputSet? _lent;                   // the set last lent to a result, reclaimed once given back
        private readonly bool _hasStringInput;
        private readonly bool _hasValueInput; // a sequence, map or optional
        private readonly long _slowRunTicks;        // ModelOptions.SlowRunThreshold in Stopwatch ticks, 0 = off
        private long _startTimestamp;               // when this run started, while runs are observed (else 0)
        private int _boundCount;
        private bool _selectionChanged;
        private ulong _selectedMask;                // the last mask given to SelectOutputs(ulong), 0 when selected otherwise
        private bool _outputsPrepared;              // output bindings hold for the current shapes
        private bool _collected;                    // the current set already notes those shapes and buffers
        private bool _anyDynamic;
        private int _state;
        private Exception? _error;

        internal InferRequest(CompiledModel model, bool pooled, ModelVersion? version = null)
        {
            _model = model;
            _signature = model.Signature;
            _layout = model.Layout;
            IsPooled = pooled;
            _shapes = new ShapeResolver(_signature);
            _inputs = new InputSlot[_signature.Inputs.Count];
            for (int i = 0; i < _inputs.Length; i++)
            {
                _inputs[i] = new InputSlot(_signature.Inputs[i]);
            }

            _slowRunTicks = model.Options.SlowRunThreshold is TimeSpan slow ? Math.Max(1, (long)(slow.TotalSeconds * System.Diagnostics.Stopwatch.Frequency)) : 0;
            _hasStringInput = Array.Exists(_inputs, i => i.Info.ElementType == OnnxElementType.String);
            _hasValueInput = Array.Exists(_inputs, i => !i.Info.IsTensor);
            _outputs = new OutputSlot[_signature.Outputs.Count];
            _boundOrder = new OutputSlot[_outputs.Length];
            for (int i = 0; i < _outputs.Length; i++)
            {
                _outputs[i] = new OutputSlot(_signature.Outputs[i], i)
                {
                    Predictable = _shapes.IsPredictable(i) && !_layout.IsPassThrough[i],
                };
            }

            _modelVersion = version ?? model.CurrentVersion;
            _session = _modelVersion.FullSession;
            _runOptions = new RunOptionsHandle();
            _runOptionsHandle = _runOptions.DangerousGetHandle();
            try
            {
                _binding = new IoBindingHandle(_session.Handle);
            }
            catch
            {
                _runOptions.Dispose();
                throw;
            }

            _bindingHandle = _binding.DangerousGetHandle();
            _sessionHandle = _session.Handle.DangerousGetHandle();
            _current = new OutputSet(_signature, _layout);
            InputMode = model.Options.InputMode;
            AsyncInputMode = model.Options.AsyncInputMode;
            SelectAllCore();
        }

        /// <summary>The model this request belongs to.</summary>
        public CompiledModel Model => _model;

        /// <summary>The model's inputs and outputs.</summary>
        public ModelSignature Signature => _signature;

        /// <summary>Where the request is in its life (<see cref="RequestState.Running"/> also while one call sets it up).</summary>
        public RequestState State
        {
            get
            {
                int code = Volatile.Read(ref _state);
                return (code & DisposeRequested) != 0 || code == DisposedCode ? RequestState.Disposed
                    : code == ReservedCode ? RequestState.Running
                    : (RequestState)code;
            }
        }

        /// <summary>True while an inference is in progress.</summary>
        public bool IsRunning => (Volatile.Read(ref _state) & ~DisposeRequested) == RunningCode;

        /// <summary>The exception of the last run, or null when it succeeded.</summary>
        public Exception? Error => Volatile.Read(ref _error);

        /// <summary>How <c>Run</c> passes inputs: shared in place (default for direct runs) or copied.</summary>
        public InputMode InputMode { get; set; }

        /// <summary>How inputs staged for asynchronous runs are passed: copied (default) or shared (then they must not change until the run completes).</summary>
        public InputMode AsyncInputMode { get; set; }

        /// <summary>True for requests the model lends to its own runs (<c>Run</c>, <c>RunAsync</c>), false for the caller's own.</summary>
        internal bool IsPooled { get; }

        // The pool's bookkeeping: the thread a request is parked on (synchronous runs), its place there, and use for trimming.
        internal Thread? ParkedOn;
        internal ThreadSpot? Spot;
        internal bool Used;
        internal long UnusedMs;

        /// <summary>True when the request runs a copy of the model pruned to the selected outputs; for tests.</summary>
        internal bool RunsPrunedModel => _session != _modelVersion.FullSession;

        /// <summary>The loaded version of the model this request runs (a reload makes a newer one).</summary>
        internal ModelVersion LoadedVersion => _modelVersion;

        internal bool IsDisposed => Volatile.Read(ref _state) == DisposedCode;

        /// <summary>The outputs of the last run.</summary>
        /// <exception cref="InvalidOperationException">The request is running, or has not run.</exception>
        public RunOutputs Outputs
        {
            get
            {
                int code = Volatile.Read(ref _state);
                code = code == StagedCode ? _lastOutcome : code; // staging the next run's inputs leaves the last outputs readable
                if (code == FaultedCode && Volatile.Read(ref _error) is Exception error)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
                }

                if (code != CompletedCode || _current is not OutputSet set)
                {
                    throw NoOutputs(code);
                }

                long version = set.Version;
                int now = Volatile.Read(ref _state);
                if (now is not (CompletedCode or StagedCode))
                {
                    throw NoOutputs(now); // a run started meanwhile
                }

                return new RunOutputs(set, version);
            }
        }

        /// <summary>A typed view of output <paramref name="index"/> of the last run.</summary>
        public OutputTensor<T> GetOutput<T>(int index) => Outputs.GetOutput<T>(index);

        /// <summary>An untyped view of output <paramref name="index"/> (graph order) of the last run.</summary>
        public OutputValue GetOutput(int index) => Outputs.GetValue(index);

        /// <summary>An untyped view of an output of the last run, by ONNX name.</summary>
        public OutputValue GetOutput(string name)
        {
            int index = _signature.IndexOfOutput(name);
            if (index < 0)
            {
                throw new ArgumentException($"Model '{_signature.ModelName}' has no output named '{name}'.", nameof(name));
            }

            return GetOutput(index);
        }

        /// <summary>Sets the value of a symbolic dim for the next run (null leaves it to be inferred).</summary>
        /// <param name="symbol">The symbol's index in <see cref="ModelSignature"/> (see <see cref="Dim.SymbolIndex"/>).</param>
        /// <param name="value">The size, or null.</param>
        public void SetSymbol(int symbol, long? value)
        {
            int from = Enter();
            try
            {
                if (value is long v)
                {
                    _shapes.GiveSymbol(symbol, v);
                }
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>Copies an input into the request's own buffer for the next run (inputs beyond <see cref="MaxPinnedInputs"/>, or for tools).</summary>
        public void CopyInput(int index, InputArg input)
        {
            CheckInputIndex(index);
            int from = Enter();
            int to = from;
            try
            {
                Stage(index, input, copy: true);
                to = from == IdleCode || from == CompletedCode || from == FaultedCode ? StagedCode : from;
            }
            finally
            {
                Exit(to);
            }
        }

        /// <summary>Stages an input by ONNX name (copied), for tools; run with <see cref="Run()"/>.</summary>
        public void CopyInput(string name, InputArg input)
        {
            int index = _signature.IndexOfInput(name);
            if (index < 0)
            {
                throw new ArgumentException($"Model '{_signature.ModelName}' has no input named '{name}'.", nameof(name));
            }

            CopyInput(index, input);
        }

        /// <summary>
        /// Chooses which outputs the next runs produce: bit <c>i</c> selects output <c>i</c> (graph order).
        /// Outputs left out are not bound, so ONNX Runtime neither computes them (unless other outputs need
        /// them) nor allocates them. Reading one afterwards throws.
        /// </summary>
        /// <param name="mask">The outputs to produce; at least one.</param>
        public void SelectOutputs(ulong mask)
        {
            if (mask == Volatile.Read(ref _selectedMask) && mask != 0)
            {
                return;
            }

            int from = Enter();
            try
            {
                SelectCore(mask);
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>Chooses the outputs the next runs produce, by ONNX name.</summary>
        public void SelectOutputs(params string[] names)
        {
            ArgumentNullException.ThrowIfNull(names);
            if (names.Length == 0)
            {
                throw new ArgumentException($"Select at least one output of model '{_signature.ModelName}'.", nameof(names));
            }

            var wanted = new bool[_outputs.Length];
            foreach (string name in names)
            {
                int index = _signature.IndexOfOutput(name);
                if (index < 0)
                {
                    throw new ArgumentException($"Model '{_signature.ModelName}' has no output named '{name}'.", nameof(names));
                }

                wanted[index] = true;
            }

            int from = Enter();
            try
            {
                for (int i = 0; i < _outputs.Length; i++)
                {
                    Select(_outputs[i], wanted[i]);
                }

                _selectedMask = 0;
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>Selects every output ModelSdk can read (the default).</summary>
        public void SelectAllOutputs()
        {
            int from = Enter();
            try
            {
                SelectAllCore();
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>True when output <paramref name="index"/> is produced by the next runs.</summary>
        public bool IsOutputSelected(int index) => OutputAt(index).Selected;

        /// <summary>
        /// Has ONNX Runtime write output <paramref name="index"/> straight into <paramref name="destination"/>
        /// (no copy after the run) until <see cref="ClearOutputDestination"/>. The memory stays pinned meanwhile;
        /// its size is checked against the output's shape before every run.
        /// </summary>
        /// <exception cref="InvalidOperationException">The output's shape is only known after the run.</exception>
        public void SetOutputDestination<T>(int index, Memory<T> destination)
            where T : unmanaged
        {
            OutputSlot slot = OutputAt(index);
            if (ElementTypeOf<T>.Value != slot.Info.ElementType || !slot.Info.IsSupported)
            {
                throw RunOutputsTypeError<T>(index);
            }

            if (!slot.Predictable)
            {
                throw new InvalidOperationException(
                    $"Output '{slot.Info.Name}' of model '{_signature.ModelName}' has shape {slot.Info.ShapeText}, known only after the run: " +
                    "it can't be written into a caller's buffer. Read it from the result instead.");
            }

            int from = Enter();
            try
            {
                slot.Destination?.Dispose();
                slot.Destination = new OutputDestination<T>(destination);
                _outputsPrepared = false; // the output's buffer changes: bind it again
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>Stops writing output <paramref name="index"/> into a caller's buffer (and unpins it).</summary>
        public void ClearOutputDestination(int index)
        {
            OutputSlot slot = OutputAt(index);
            int from = Enter();
            try
            {
                slot.Destination?.Dispose();
                slot.Destination = null;
                _outputsPrepared = false;
            }
            finally
            {
                Exit(from);
            }
        }

        /// <summary>
        /// Disposes the request: its views become invalid and its buffers are released. Never blocks: a run in
        /// flight is stopped at its next operator and the request is released when it ends. Harmless when called again.
        /// </summary>
        public void Dispose() => Dispose(StaleReason.RequestDisposed);

        internal void Dispose(StaleReason reason)
        {
            while (true)
            {
                int code = Volatile.Read(ref _state);
                if (code == DisposedCode || (code & DisposeRequested) != 0)
                {
                    return;
                }

                if (code == RunningCode || code == ReservedCode)
                {
                    // The run or the call that holds the request releases it when it ends.
                    _disposeReason = reason;
                    if (Interlocked.CompareExchange(ref _state, code | DisposeRequested, code) == code)
                    {
                        if (code == RunningCode)
                        {
                            Terminate();
                        }

                        return;
                    }

                    continue;
                }

                if (Interlocked.CompareExchange(ref _state, DisposedCode, code) == code)
                {
                    Release(reason);
                    return;
                }
            }
        }

        private StaleReason _disposeReason;

        /// <summary>Retires an idle pooled request (trimming): its native state goes, but views of its last run stay readable.</summary>
        internal bool TryRetire()
        {
            int code = Volatile.Read(ref _state);
            if ((code == IdleCode || code == CompletedCode || code == FaultedCode) &&
                Interlocked.CompareExchange(ref _state, DisposedCode, code) == code)
            {
                Release(reason: null);
                return true;
            }

            return false;
        }

        /// <summary>Releases native state and pins, once (the state is already Disposed).</summary>
        private void Release(StaleReason? reason)
        {
            foreach (InputSlot slot in _inputs)
            {
                slot.EndStaging();
            }

            foreach (OutputSlot slot in _outputs)
            {
                slot.Destination?.Dispose();
                slot.Destination = null;
            }

            if (reason is StaleReason why && _current is OutputSet set)
            {
                set.Invalidate(why);
                foreach (OutputData item in set.Items)
                {
                    item.ClearNative();
                }
            }

            _current = null; // views hold the set themselves; a retired request's last views stay readable
            _lent = null;
            _binding.Dispose();
            _runOptions.Dispose();
            _model.OnReleased(this);
        }

        /// <summary>
        /// Takes the request for one call that sets it up (or starts it); returns the state to go back to.
        /// A request runs or is set up by one call at a time: the rest get REQUEST_BUSY.
        /// </summary>
        private int Enter()
        {
            while (true)
            {
                int code = Volatile.Read(ref _state);
                if (code is IdleCode or StagedCode or CompletedCode or FaultedCode)
                {
                    if (Interlocked.CompareExchange(ref _state, ReservedCode, code) == code)
                    {
                        return code;
                    }

                    continue;
                }

                throw code == DisposedCode || (code & DisposeRequested) != 0 ? Disposed() : Busy();
            }
        }

        /// <summary>Takes the request if it is at rest (for the model's pool); false when it is in use or disposed.</summary>
        internal bool TryReserve()
        {
            int code = Volatile.Read(ref _state);
            return code is IdleCode or StagedCode or CompletedCode or FaultedCode &&
                   Interlocked.CompareExchange(ref _state, ReservedCode, code) == code;
        }

        /// <summary>Starts a synchronous run of a parked request in one step (the hot path of <c>model.Run</c>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal bool TryBeginParked()
        {
            int code = Volatile.Read(ref _state);
            return code is CompletedCode or FaultedCode or IdleCode &&
                   Interlocked.CompareExchange(ref _state, RunningCode, code) == code;
        }

        /// <summary>Gives the request back after a call that held it; a Dispose that came meanwhile happens now.</summary>
        private void Exit(int to)
        {
            int prior = Interlocked.CompareExchange(ref _state, to, ReservedCode);
            if (prior == (ReservedCode | DisposeRequested))
            {
                ReleaseRequested();
            }

            // Otherwise it is at rest again, or was already released (a failed start released it).
        }

        /// <summary>The holder's turn to honour a Dispose that came while it held the request.</summary>
        private void ReleaseRequested()
        {
            Volatile.Write(ref _state, DisposedCode);
            Release(_disposeReason);
        }

        /// <summary>A held pooled request goes back to its pool, or its thread (its setup failed, or its run ended).</summary>
        internal void ReturnToPool()
        {
            if ((Volatile.Read(ref _state) & ~DisposeRequested) == ReservedCode)
            {
                _shapes.Clear();
                foreach (InputSlot slot in _inputs)
                {
                    slot.EndStaging();
                }

                Exit(IdleCode);
            }

            _model.Pool.Return(this);
        }

        /// <summary>Stages a copied input on a request the caller holds; on failure the request is let go.</summary>
        internal void CopyHeld(int index, InputArg input)
        {
            try
            {
                CheckInputIndex(index);
                Stage(index, input, copy: true);
            }
            catch
            {
                ReturnToPool();
                throw;
            }
        }

        /// <summary>Hands the current output set to a result that will own it; the next run writes into another.</summary>
        internal OutputSet DetachOutputs()
        {
            OutputSet set = _current!;
            _current = null;
            _lent = set;
            return set;
        }

        /// <summary>The set the next run writes into: the current one, the last lent one if it was given back, or a new one.</summary>
        private OutputSet OutputsForRun()
        {
            if (_current is OutputSet current)
            {
                return current;
            }

            if (_lent is OutputSet lent && lent.TryReclaim())
            {
                _current = lent; // the same buffers as the binding's: nothing to bind again
                _collected = false; // but it may note the shapes of an older run
            }
            else
            {
                _current = new OutputSet(_signature, _layout);
                _outputsPrepared = false; // new buffers: bind them
            }

            _lent = null;
            return _current;
        }

        private void CheckInputIndex(int index)
        {
            if ((uint)index >= (uint)_inputs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{_signature.ModelName}' has {_inputs.Length} inputs.");
            }
        }

        private OutputSlot OutputAt(int index)
        {
            if ((uint)index >= (uint)_outputs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{_signature.ModelName}' has {_outputs.Length} outputs.");
            }

            return _outputs[index];
        }

        private Exception RunOutputsTypeError<T>(int index)
        {
            TensorInfo info = _signature.Outputs[index];
            return !info.IsSupported
                ? ModelErrors.UnsupportedOutput(_signature, index)
                : new InvalidCastException($"Output '{info.Name}' of model '{_signature.ModelName}' holds {OnnxElementTypes.OnnxName(info.ElementType)} elements, not {typeof(T).Name}.");
        }

        private InvalidOperationException Busy() => new InvalidOperationException(
            $"This request of model '{_signature.ModelName}' is running (REQUEST_BUSY): one request runs one inference at a time. " +
            "Wait for it (Wait, WaitAsync) or use another request (model.CreateRequest()).");

        private ObjectDisposedException Disposed() => _model.IsDisposed
            ? new ObjectDisposedException(_model.GetType().Name, $"Model '{_signature.ModelName}' was disposed.")
            : new ObjectDisposedException(nameof(InferRequest), $"This request of model '{_signature.ModelName}' was disposed.");

        private Exception NoOutputs(int code) =>
            code == DisposedCode || (code & DisposeRequested) != 0 ? Disposed()
            : code == RunningCode || code == ReservedCode ? new InvalidOperationException(
                $"This request of model '{_signature.ModelName}' is running: its outputs are read once the run has completed (Wait, WaitAsync, or the callback).")
            : new InvalidOperationException($"This request of model '{_signature.ModelName}' has no outputs: it has not run since it was created or set up.");
    }
}
