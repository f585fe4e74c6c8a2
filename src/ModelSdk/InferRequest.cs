using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>
    /// One reusable inference request of a model: an ONNX Runtime I/O binding with its inputs and
    /// outputs bound once and re-bound only when a buffer or a shape changes, so that repeated runs
    /// allocate nothing. A request runs one inference at a time; outputs are views of its buffers,
    /// valid until its next run.
    /// </summary>
    /// <remarks>
    /// Generated model classes drive requests through typed members; the members here take inputs
    /// and outputs by index (graph order), for tools that don't know the model at compile time.
    /// </remarks>
    public sealed unsafe partial class InferRequest : IDisposable
    {
        /// <summary>Inputs beyond this count are copied (they can't all be pinned in one call).</summary>
        public const int MaxPinnedInputs = 8;

        private static readonly byte[] EmptyData = GC.AllocateArray<byte>(8, pinned: true);

        private readonly CompiledModel _model;
        private readonly ModelSignature _signature;
        private SessionInfo _session;                 // the whole model, or a copy pruned to the selected outputs
        private OrtIoBinding _binding;
        private IntPtr _bindingHandle;
        private readonly RunOptions _runOptions;
        private readonly IntPtr _runOptionsHandle;
        private readonly InputSlot[] _inputs;
        private readonly OutputSlot[] _outputs;
        private readonly OutputSlot[] _boundOrder;   // selected outputs, in the order ONNX Runtime reports bound values
        private int _boundCount;
        private bool _selectionChanged;
        private ulong _selectedMask;                 // the last mask given to SelectOutputs(ulong), 0 when selected otherwise
        private bool _prepared;                      // the slots' shapes and output bindings hold for runs with the same lengths
        private bool _symbolsGiven;                  // SetSymbol gave a value for this run
        private bool _anyDynamic;                    // some bound output is allocated by ONNX Runtime (fetched after each run)
        private readonly long[] _symbols;            // values of the symbolic dims for the current run, -1 = unset
        private long _version;
        private int _busy;
        private bool _disposed;
        private int _disposeState;                   // 0 alive, 1 releasing native state, 2 released

        internal InferRequest(CompiledModel model)
        {
            _model = model;
            _signature = model.Signature;
            _session = model.FullSession;
            _binding = CreateBinding(_session, out _bindingHandle);
            _runOptions = new RunOptions();
            bool addedRunOptionsRef = false;
            _runOptions.DangerousAddRef(ref addedRunOptionsRef); // used by handle on the hot path: keep it alive
            _runOptionsHandle = _runOptions.DangerousGetHandle();

            _inputs = new InputSlot[_signature.Inputs.Count];
            for (int i = 0; i < _inputs.Length; i++)
            {
                _inputs[i] = new InputSlot(_signature.Inputs[i]);
            }

            _symbols = new long[_signature.SymbolCount];
            _symbols.AsSpan().Fill(-1);

            _outputs = new OutputSlot[_signature.Outputs.Count];
            _boundOrder = new OutputSlot[_outputs.Length];
            for (int i = 0; i < _outputs.Length; i++)
            {
                _outputs[i] = new OutputSlot(_signature.Outputs[i], i);
                _outputs[i].Predictable = IsPredictable(_outputs[i].Info);
            }

            SelectAllOutputs();
        }

        private static OrtIoBinding CreateBinding(SessionInfo session, out IntPtr handle)
        {
            OrtIoBinding binding = session.Session.CreateIoBinding();
            bool addedRef = false;
            binding.DangerousAddRef(ref addedRef); // the native handle is used directly: keep it alive
            handle = binding.DangerousGetHandle();
            return binding;
        }

        /// <summary>True when the request runs a copy of the model pruned to the selected outputs; for tests.</summary>
        internal bool RunsPrunedModel => _session != _model.FullSession;

        /// <summary>Moves to another session's binding: everything is bound again on the next run.</summary>
        private void SwitchSession(SessionInfo session)
        {
            foreach (InputSlot slot in _inputs)
            {
                slot.ForgetBinding();
            }

            foreach (OutputSlot slot in _outputs)
            {
                slot.Release();
            }

            _binding.DangerousRelease();
            _binding.Dispose();
            _session = session;
            _binding = CreateBinding(session, out _bindingHandle);
        }

        /// <summary>The model this request belongs to.</summary>
        public CompiledModel Model => _model;

        /// <summary>The model's inputs and outputs.</summary>
        public ModelSignature Signature => _signature;

        /// <summary>Increases with every run; output views remember the version they were read at.</summary>
        public long Version => Volatile.Read(ref _version);

        /// <summary>How inputs reach ONNX Runtime: shared in place (default for direct runs) or copied.</summary>
        public InputMode InputMode { get; set; } = InputMode.Shared;

        // An output whose shape is known before the run (fixed dims, or dims named like an input's) gets a buffer bound up front.
        private static bool IsPredictable(TensorInfo info)
        {
            if (!info.HasShape || !info.IsSupported || info.ElementType == OnnxElementType.String)
            {
                return false;
            }

            foreach (Dim dim in info.Dims)
            {
                if (!dim.IsFixed && dim.SymbolIndex < 0)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Sets the value of a symbolic dim for the next run (null leaves it to be inferred).</summary>
        /// <param name="symbol">The symbol's index in <see cref="ModelSignature"/> (see <see cref="Dim.SymbolIndex"/>).</param>
        /// <param name="value">The size, or null.</param>
        public void SetSymbol(int symbol, long? value)
        {
            if ((uint)symbol >= (uint)_symbols.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(symbol), symbol, $"Model '{_signature.ModelName}' has {_symbols.Length} symbolic dims.");
            }

            if (value is long v)
            {
                if (v < 0)
                {
                    throw new ArgumentOutOfRangeException(_signature.SymbolName(symbol), v,
                        $"The symbolic dimension '{_signature.SymbolName(symbol)}' of model '{_signature.ModelName}' can't be negative.");
                }

                _symbols[symbol] = v;
                _symbolsGiven = true;
            }
        }

        /// <summary>Copies an input into the request's own buffer for the next run (used for inputs beyond <see cref="MaxPinnedInputs"/>).</summary>
        public void CopyInput(int index, InputArg input)
        {
            ThrowIfDisposed();
            if ((uint)index >= (uint)_inputs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Model '{_signature.ModelName}' has {_inputs.Length} inputs.");
            }

            Stage(index, input, copy: true);
        }

        /// <summary>Runs the model on inputs staged with <see cref="CopyInput(int, InputArg)"/> (or a model without inputs).</summary>
        public void Run()
        {
            BeginRun();
            try
            {
                PrepareRun(0);
                BindCopiedInputs(0);
                Execute();
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first input given.</summary>
        public void Run(InputArg a0)
        {
            BeginRun();
            try
            {
                Stage(0, a0, InputMode == InputMode.Copy);
                PrepareRun(1);
                fixed (byte* p0 = a0.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindCopiedInputs(1);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 2 inputs given.</summary>
        public void Run(InputArg a0, InputArg a1)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                PrepareRun(2);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindCopiedInputs(2);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 3 inputs given.</summary>
        public void Run(InputArg a0, InputArg a1, InputArg a2)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                Stage(2, a2, copy);
                PrepareRun(3);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindInput(2, p2, a2.Strings);
                    BindCopiedInputs(3);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 4 inputs given.</summary>
        public void Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                Stage(2, a2, copy);
                Stage(3, a3, copy);
                PrepareRun(4);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindInput(2, p2, a2.Strings);
                    BindInput(3, p3, a3.Strings);
                    BindCopiedInputs(4);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 5 inputs given.</summary>
        public void Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                Stage(2, a2, copy);
                Stage(3, a3, copy);
                Stage(4, a4, copy);
                PrepareRun(5);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindInput(2, p2, a2.Strings);
                    BindInput(3, p3, a3.Strings);
                    BindInput(4, p4, a4.Strings);
                    BindCopiedInputs(5);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 6 inputs given.</summary>
        public void Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                Stage(2, a2, copy);
                Stage(3, a3, copy);
                Stage(4, a4, copy);
                Stage(5, a5, copy);
                PrepareRun(6);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes, p5 = a5.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindInput(2, p2, a2.Strings);
                    BindInput(3, p3, a3.Strings);
                    BindInput(4, p4, a4.Strings);
                    BindInput(5, p5, a5.Strings);
                    BindCopiedInputs(6);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 7 inputs given.</summary>
        public void Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                Stage(2, a2, copy);
                Stage(3, a3, copy);
                Stage(4, a4, copy);
                Stage(5, a5, copy);
                Stage(6, a6, copy);
                PrepareRun(7);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes, p5 = a5.Bytes, p6 = a6.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindInput(2, p2, a2.Strings);
                    BindInput(3, p3, a3.Strings);
                    BindInput(4, p4, a4.Strings);
                    BindInput(5, p5, a5.Strings);
                    BindInput(6, p6, a6.Strings);
                    BindCopiedInputs(7);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>Runs the model with its first 8 inputs given (further inputs must be staged with <see cref="CopyInput(int, InputArg)"/>).</summary>
        public void Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6, InputArg a7)
        {
            BeginRun();
            try
            {
                bool copy = InputMode == InputMode.Copy;
                Stage(0, a0, copy);
                Stage(1, a1, copy);
                Stage(2, a2, copy);
                Stage(3, a3, copy);
                Stage(4, a4, copy);
                Stage(5, a5, copy);
                Stage(6, a6, copy);
                Stage(7, a7, copy);
                PrepareRun(8);
                fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes, p5 = a5.Bytes, p6 = a6.Bytes, p7 = a7.Bytes)
                {
                    BindInput(0, p0, a0.Strings);
                    BindInput(1, p1, a1.Strings);
                    BindInput(2, p2, a2.Strings);
                    BindInput(3, p3, a3.Strings);
                    BindInput(4, p4, a4.Strings);
                    BindInput(5, p5, a5.Strings);
                    BindInput(6, p6, a6.Strings);
                    BindInput(7, p7, a7.Strings);
                    BindCopiedInputs(8);
                    Execute();
                }
            }
            finally
            {
                EndRun();
            }
        }

        /// <summary>
        /// Chooses which outputs the next runs produce: bit <c>i</c> selects output <c>i</c> (graph order).
        /// Outputs left out are not bound, so ONNX Runtime neither computes them (unless other outputs need
        /// them) nor allocates them. Reading one afterwards throws.
        /// </summary>
        /// <param name="mask">The outputs to produce; at least one.</param>
        public void SelectOutputs(ulong mask)
        {
            if (mask == _selectedMask && mask != 0)
            {
                return; // generated Run calls this on every run: the common case is "no change"
            }

            if (_outputs.Length < 64 && mask >> _outputs.Length != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(mask), mask, $"Model '{_signature.ModelName}' has {_outputs.Length} outputs.");
            }

            if (mask == 0)
            {
                throw new ArgumentException($"Select at least one output of model '{_signature.ModelName}'.", nameof(mask));
            }

            ThrowIfBusy();
            for (int i = 0; i < _outputs.Length; i++)
            {
                Select(_outputs[i], i < 64 && (mask & (1UL << i)) != 0);
            }

            _selectedMask = mask;
        }

        /// <summary>Chooses the outputs the next runs produce, by ONNX name.</summary>
        public void SelectOutputs(params string[] names)
        {
            ArgumentNullException.ThrowIfNull(names);
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

            if (names.Length == 0)
            {
                throw new ArgumentException($"Select at least one output of model '{_signature.ModelName}'.", nameof(names));
            }

            ThrowIfBusy();
            for (int i = 0; i < _outputs.Length; i++)
            {
                Select(_outputs[i], wanted[i]);
            }

            _selectedMask = 0;
        }

        /// <summary>Selects every output ModelSdk can read (the default).</summary>
        public void SelectAllOutputs()
        {
            ThrowIfBusy();
            bool anySupported = Array.Exists(_outputs, o => o.Info.IsSupported);
            foreach (OutputSlot slot in _outputs)
            {
                // Unsupported outputs are only computed when there is nothing else: ONNX Runtime needs one output.
                Select(slot, slot.Info.IsSupported || !anySupported);
            }

            _selectedMask = 0;
        }

        /// <summary>True when output <paramref name="index"/> is produced by the next runs.</summary>
        public bool IsOutputSelected(int index) => OutputAt(index).Selected;

        private void Select(OutputSlot slot, bool selected)
        {
            if (slot.Selected != selected)
            {
                slot.Selected = selected;
                _selectionChanged = true;
            }
        }

        /// <summary>
        /// Has ONNX Runtime write output <paramref name="index"/> straight into <paramref name="destination"/>
        /// (no copy after the run) until <see cref="ClearOutputDestination"/>. The memory stays pinned meanwhile;
        /// its size is checked against the output's shape before every run.
        /// </summary>
        /// <exception cref="InvalidOperationException">The output's shape is only known after the run.</exception>
        public unsafe void SetOutputDestination<T>(int index, Memory<T> destination)
        {
            OutputSlot slot = OutputAt(index);
            if (ElementTypeOf<T>.Value != slot.Info.ElementType || !slot.Info.IsSupported)
            {
                ThrowWrongOutputType<T>(slot);
            }

            if (!slot.Predictable)
            {
                throw new InvalidOperationException(
                    $"Output '{slot.Info.Name}' of model '{_signature.ModelName}' has shape {slot.Info.ShapeText}, known only after the run: " +
                    "it can't be written into a caller's buffer. Read it from the result instead.");
            }

            ThrowIfBusy();
            _prepared = false; // the output's buffer changes: bind it again
            slot.ClearDestination();
            slot.DestinationPin = destination.Pin();
            slot.Destination = (IntPtr)slot.DestinationPin.Pointer;
            slot.DestinationBytes = (long)destination.Length * Unsafe.SizeOf<T>();
        }

        /// <summary>Stops writing output <paramref name="index"/> into a caller's buffer (and unpins it).</summary>
        public void ClearOutputDestination(int index)
        {
            OutputSlot slot = OutputAt(index);
            ThrowIfBusy();
            _prepared = false;
            slot.ClearDestination();
        }

        private void ThrowIfBusy()
        {
            ThrowIfDisposed();
            if (Volatile.Read(ref _busy) != 0)
            {
                throw new InvalidOperationException($"This request of model '{_signature.ModelName}' is running (REQUEST_BUSY): wait for it (Wait, WaitAsync) or use another request.");
            }
        }

        /// <summary>A typed view of an output of the last run.</summary>
        /// <typeparam name="T">The output's element type.</typeparam>
        /// <param name="index">The output's index (graph order).</param>
        /// <param name="version">The <see cref="Version"/> the caller's result belongs to.</param>
        public OutputTensor<T> GetOutput<T>(int index, long version)
        {
            OutputSlot slot = OutputAt(index);
            if (ElementTypeOf<T>.Value != slot.Info.ElementType || !slot.Info.IsSupported)
            {
                ThrowWrongOutputType<T>(slot);
            }

            CheckProduced(index, version);
            return new OutputTensor<T>(this, index, version);
        }

        /// <summary>An untyped view of an output of the last run (by index, graph order).</summary>
        public OutputValue GetOutput(int index)
        {
            OutputAt(index);
            long version = Version;
            CheckProduced(index, version);
            return new OutputValue(this, index, version);
        }

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

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void ThrowWrongOutputType<T>(OutputSlot slot)
        {
            if (!slot.Info.IsSupported)
            {
                throw ModelErrors.UnsupportedOutput(_signature, slot.Index);
            }

            throw new InvalidCastException(
                $"Output '{slot.Info.Name}' of model '{_signature.ModelName}' holds {OnnxElementTypes.OnnxName(slot.Info.ElementType)} elements, not {typeof(T).Name}.");
        }

        /// <summary>
        /// Disposes the request: its views become invalid and its buffers are released. A run in flight is
        /// cancelled and waited for first (a synchronous one on another thread is waited for).
        /// </summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            if (t_completing == this)
            {
                throw new InvalidOperationException($"A request of model '{_signature.ModelName}' can't be disposed from its own completion callback.");
            }

            Cancel();
            _done.Wait();
            SpinWait.SpinUntil(() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0);
            DisposeCore();
        }

        /// <summary>Releases native state once; a second caller waits until the first has finished (the session is released after its requests).</summary>
        internal void DisposeCore()
        {
            if (Interlocked.CompareExchange(ref _disposeState, 1, 0) != 0)
            {
                SpinWait.SpinUntil(() => Volatile.Read(ref _disposeState) == 2);
                return;
            }

            _disposed = true;
            Volatile.Write(ref _version, _version + 1);
            foreach (InputSlot slot in _inputs)
            {
                slot.Release();
            }

            foreach (OutputSlot slot in _outputs)
            {
                slot.Release();
                slot.ClearDestination();
            }

            _binding.DangerousRelease();
            _binding.Dispose();
            _runOptions.DangerousRelease();
            _runOptions.Dispose();
            _done.Dispose();
            _model.Forget(this);
            Volatile.Write(ref _disposeState, 2);
        }

        internal bool IsDisposed => _disposed;

        /// <summary>Running, or being disposed (a disposed request keeps its busy flag set: nothing may run it again).</summary>
        internal bool IsBusy => Volatile.Read(ref _busy) != 0 && Volatile.Read(ref _disposeState) != 2;

        /// <summary>The id of the lease of the result that holds this request (<c>RunAsync</c>), or 0.</summary>
        internal long LeaseId { get; set; }

        /// <summary>A new lease, until the result takes it (the request must not keep it alive afterwards).</summary>
        internal CompiledModel.Lease? PendingLease { get; set; }

        /// <summary>
        /// For a result of <c>RunAsync</c>: takes the lease that lends this request to it. The result keeps it
        /// (so the request stays lent while the result is reachable) and passes it to <see cref="ReleaseLease"/>.
        /// </summary>
        internal object? TakeLease()
        {
            CompiledModel.Lease? lease = PendingLease;
            PendingLease = null;
            return lease;
        }

        /// <summary>Gives a lent request back to its model: called by a <c>RunAsync</c> result's Dispose with the lease it kept.</summary>
        internal void ReleaseLease(object? lease) => _model.ReturnRequest(this, lease as CompiledModel.Lease, fromFinalizer: false);

        private void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(InferRequest), $"This request of model '{_signature.ModelName}' was disposed.");
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
    }
}
