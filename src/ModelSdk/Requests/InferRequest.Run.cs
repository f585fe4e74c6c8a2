using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>A symbolic dim's value for one run (generated code passes one per symbolic dim of the model).</summary>
    public readonly struct SymbolValue
    {
        /// <summary>The symbol's index in the model's signature, and its value (null: inferred from the inputs).</summary>
        public SymbolValue(int symbol, long? value)
        {
            Symbol = symbol;
            Value = value;
        }

        /// <summary>The symbol's index (see <see cref="Dim.SymbolIndex"/>).</summary>
        public int Symbol { get; }

        /// <summary>Its value, or null to infer it.</summary>
        public long? Value { get; }
    }

    public sealed unsafe partial class InferRequest
    {
        private static readonly byte[] EmptyData = GC.AllocateArray<byte>(8, pinned: true);

        /// <summary>Inputs beyond this count are copied into the request before a synchronous run (<see cref="CopyInput(int, InputArg)"/>): one call can pin only so many.</summary>
        public const int MaxPinnedInputs = 8;

        /// <summary>Runs the model on the inputs staged with <see cref="CopyInput(int, InputArg)"/> (or a model without inputs).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        public RunOutputs Run()
        {
            Enter();
            return RunHeld(0, default);
        }

        /// <summary>Runs the model synchronously with its first input given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0)
        {
            Enter();
            return RunHeld(0, default, a0);
        }

        /// <summary>Runs the model synchronously with its first 2 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1)
        {
            Enter();
            return RunHeld(0, default, a0, a1);
        }

        /// <summary>Runs the model synchronously with its first 3 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1, InputArg a2)
        {
            Enter();
            return RunHeld(0, default, a0, a1, a2);
        }

        /// <summary>Runs the model synchronously with its first 4 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3)
        {
            Enter();
            return RunHeld(0, default, a0, a1, a2, a3);
        }

        /// <summary>Runs the model synchronously with its first 5 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4)
        {
            Enter();
            return RunHeld(0, default, a0, a1, a2, a3, a4);
        }

        /// <summary>Runs the model synchronously with its first 6 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5)
        {
            Enter();
            return RunHeld(0, default, a0, a1, a2, a3, a4, a5);
        }

        /// <summary>Runs the model synchronously with its first 7 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6)
        {
            Enter();
            return RunHeld(0, default, a0, a1, a2, a3, a4, a5, a6);
        }

        /// <summary>Runs the model synchronously with its first 8 inputs given (read in place, or copied in <see cref="InputMode.Copy"/>, during the call only).</summary>
        /// <returns>The outputs, valid until this request runs again.</returns>
        /// <exception cref="ArgumentException">An input does not match the model.</exception>
        /// <exception cref="InvalidOperationException">The request is running (REQUEST_BUSY).</exception>
        public RunOutputs Run(InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6, InputArg a7)
        {
            Enter();
            return RunHeld(0, default, a0, a1, a2, a3, a4, a5, a6, a7);
        }

        // Runs of a request this call holds (reserved, or already running from the pool's fast path), one overload per
        // number of inputs given: each pins its inputs in its own frame for the whole run, reads them in place, and
        // copies nothing to get there (one body taking eight inputs by reference measured 3% slower on tiny).
        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols)
        {
            BeginHeld();
            try
            {
                PrepareGiven(outputs, symbols, 0);
            }
            catch (Exception ex)
            {
                throw Fail(ex);
            }

            return ExecuteGiven();
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    PrepareGiven(outputs, symbols, 1);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    PrepareGiven(outputs, symbols, 2);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    Give(2, a2, p2);
                    PrepareGiven(outputs, symbols, 3);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                        GiveStrings(2, a2);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    Give(2, a2, p2);
                    Give(3, a3, p3);
                    PrepareGiven(outputs, symbols, 4);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                        GiveStrings(2, a2);
                        GiveStrings(3, a3);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    Give(2, a2, p2);
                    Give(3, a3, p3);
                    Give(4, a4, p4);
                    PrepareGiven(outputs, symbols, 5);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                        GiveStrings(2, a2);
                        GiveStrings(3, a3);
                        GiveStrings(4, a4);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes, p5 = a5.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    Give(2, a2, p2);
                    Give(3, a3, p3);
                    Give(4, a4, p4);
                    Give(5, a5, p5);
                    PrepareGiven(outputs, symbols, 6);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                        GiveStrings(2, a2);
                        GiveStrings(3, a3);
                        GiveStrings(4, a4);
                        GiveStrings(5, a5);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes, p5 = a5.Bytes, p6 = a6.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    Give(2, a2, p2);
                    Give(3, a3, p3);
                    Give(4, a4, p4);
                    Give(5, a5, p5);
                    Give(6, a6, p6);
                    PrepareGiven(outputs, symbols, 7);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                        GiveStrings(2, a2);
                        GiveStrings(3, a3);
                        GiveStrings(4, a4);
                        GiveStrings(5, a5);
                        GiveStrings(6, a6);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        internal RunOutputs RunHeld(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, InputArg a0, InputArg a1, InputArg a2, InputArg a3, InputArg a4, InputArg a5, InputArg a6, InputArg a7)
        {
            BeginHeld();
            fixed (byte* p0 = a0.Bytes, p1 = a1.Bytes, p2 = a2.Bytes, p3 = a3.Bytes, p4 = a4.Bytes, p5 = a5.Bytes, p6 = a6.Bytes, p7 = a7.Bytes)
            {
                try
                {
                    Give(0, a0, p0);
                    Give(1, a1, p1);
                    Give(2, a2, p2);
                    Give(3, a3, p3);
                    Give(4, a4, p4);
                    Give(5, a5, p5);
                    Give(6, a6, p6);
                    Give(7, a7, p7);
                    PrepareGiven(outputs, symbols, 8);
                    if (_hasStringInput)
                    {
                        GiveStrings(0, a0);
                        GiveStrings(1, a1);
                        GiveStrings(2, a2);
                        GiveStrings(3, a3);
                        GiveStrings(4, a4);
                        GiveStrings(5, a5);
                        GiveStrings(6, a6);
                        GiveStrings(7, a7);
                    }
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }

                return ExecuteGiven();
            }
        }

        /// <summary>Marks a held request running (reserved ones; the pool's fast path already did).</summary>
        private void BeginHeld()
        {
            _startTimestamp = ObserveRuns ? Stopwatch.GetTimestamp() : 0;
            if (Volatile.Read(ref _state) == ReservedCode)
            {
                BeginRunning();
            }
            else
            {
                ResetTerminateIfCancelled(); // parked requests: only a model's Dispose terminates them, and then nothing runs again
            }
        }

        /// <summary>An input given to this run: staged (type, length, shape checked), read in place at <paramref name="pinned"/> or copied.</summary>
        private void Give(int index, scoped in InputArg arg, byte* pinned)
        {
            Stage(index, arg, InputMode == InputMode.Copy);
            _inputs[index].GivenData = (IntPtr)pinned;
        }

        /// <summary>Outputs and symbols of this run, every input staged and shapes resolved; inputs other than strings bound.</summary>
        private void PrepareGiven(ulong outputs, scoped ReadOnlySpan<SymbolValue> symbols, int given)
        {
            ThrowIfModelDisposed();
            if (outputs != 0 && outputs != _selectedMask)
            {
                SelectCore(outputs);
            }

            ApplySymbols(symbols);
            Prepare(given);
            if (_hasValueInput)
            {
                UnbindAbsentValues();
            }

            for (int i = 0; i < _inputs.Length; i++)
            {
                if (_inputs[i].Info.ElementType != OnnxElementType.String || _inputs[i].Copied)
                {
                    BindInput(i, default);
                }
            }
        }

        /// <summary>A string input read in place: ONNX Runtime gets its own copy of the strings (once the shape is known).</summary>
        private void GiveStrings(int index, scoped in InputArg arg)
        {
            if (_inputs[index].Info.ElementType == OnnxElementType.String && !_inputs[index].Copied)
            {
                BindInput(index, arg.Strings);
            }
        }

        /// <summary>The inference itself, then the one completion path; returns this run's outputs.</summary>
        private RunOutputs ExecuteGiven()
        {
            Exception? error = null;
            try
            {
                Execute();
            }
            catch (Exception ex)
            {
                error = ex;
            }

            OutputSet? produced = _current;
            if (Finish(error))
            {
                throw Disposed(); // disposed while it ran: its outputs went with it
            }

            if (error != null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
            }

            return new RunOutputs(produced!, produced!.Version);
        }

        /// <summary>A run that failed before the inference: it ends (Faulted) and its error is thrown as it was.</summary>
        private Exception Fail(Exception error)
        {
            if (Finish(error))
            {
                return Disposed();
            }

            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
            return error; // not reached
        }

        /// <summary>Marks a reserved request running (the holder's call starts the inference).</summary>
        private void BeginRunning()
        {
            ResetTerminateIfCancelled();
            int prior = Interlocked.CompareExchange(ref _state, RunningCode, ReservedCode);
            if (prior != ReservedCode)
            {
                // Dispose came while the call set the request up: release it now, run nothing.
                if (prior == (ReservedCode | DisposeRequested))
                {
                    ReleaseRequested();
                }

                throw Disposed();
            }
        }

        private void ThrowIfModelDisposed()
        {
            if (_model.RefusesRuns)
            {
                throw _model.Refusal();
            }
        }

        /// <summary>
        /// The one place a run ends, synchronous or not: the inputs are let go, this run's symbols forgotten,
        /// and the state moves from Running to Completed or Faulted, or to Disposed when a Dispose came during
        /// the run (then native state is released here, after the run). Returns true in that last case.
        /// </summary>
        private bool Finish(Exception? error)
        {
            foreach (InputSlot slot in _inputs)
            {
                if (slot.Staged)
                {
                    slot.EndStaging();
                }
            }

            _shapes.Clear();
            if (_error != error)
            {
                Volatile.Write(ref _error, error);
            }

            if (_startTimestamp != 0)
            {
                EndObservedRun(error);
            }

            int to = error is null ? CompletedCode : FaultedCode;
            _lastOutcome = to;
            if (Interlocked.CompareExchange(ref _state, to, RunningCode) == RunningCode)
            {
                return false;
            }

            ReleaseRequested(); // a Dispose came during the run (the only other change a running request sees)
            return true;
        }

        /// <summary>Runs are timed while someone listens to the run metrics, or slow runs are reported.</summary>
        private bool ObserveRuns => _slowRunTicks != 0 || ModelMetrics.RunsObserved;

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void EndObservedRun(Exception? error)
        {
            ModelMetrics.RunEnded(_model, _startTimestamp, error);
            if (_slowRunTicks != 0 && Stopwatch.GetTimestamp() - _startTimestamp > _slowRunTicks)
            {
                _model.OnSlowRun(Stopwatch.GetElapsedTime(_startTimestamp));
            }

            _startTimestamp = 0;
        }

        private void ApplySymbols(scoped ReadOnlySpan<SymbolValue> symbols)
        {
            foreach (SymbolValue symbol in symbols)
            {
                if (symbol.Value is long value)
                {
                    _shapes.GiveSymbol(symbol.Symbol, value);
                }
            }
        }

        /// <summary>Records an input for this run: checks its type, notes its length and shape, copies it if asked.</summary>
        private void Stage(int index, scoped in InputArg arg, bool copy)
        {
            InputSlot slot = _inputs[index];
            if (arg.IsNull)
            {
                throw new ArgumentNullException(slot.Info.Name, $"Input '{slot.Info.Name}' of model '{_signature.ModelName}' is null.");
            }

            if (!slot.Info.IsSupported)
            {
                throw ModelErrors.UnsupportedInput(_signature, index);
            }

            if (!slot.Info.IsTensor || arg.IsValue)
            {
                StageValue(index, arg);
                return;
            }

            if (arg.Type != slot.Info.ElementType)
            {
                throw ModelErrors.InputType(_signature, index, arg.Type);
            }

            if (arg.HasShape)
            {
                _shapes.GiveShape(index, arg.Length, arg.Lengths);
            }
            else
            {
                _shapes.GiveLength(index, arg.Length);
            }

            if (slot.PinnedData != IntPtr.Zero)
            {
                slot.EndStaging(); // staged again: the earlier pin is not needed
            }

            slot.Copied = copy;
            if (copy)
            {
                if (slot.Info.ElementType == OnnxElementType.String)
                {
                    slot.CopiedStrings = arg.Strings.ToArray();
                }
                else
                {
                    if (slot.CopyBuffer is null || slot.CopyBuffer.Length < arg.Bytes.Length)
                    {
                        slot.CopyBuffer = GC.AllocateUninitializedArray<byte>(Math.Max(arg.Bytes.Length, 8), pinned: true);
                    }

                    arg.Bytes.CopyTo(slot.CopyBuffer);
                }
            }

            slot.Staged = true;
        }

        /// <summary>A sequence, map or optional input: made into a value ONNX Runtime owns now (a copy), bound before the run.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void StageValue(int index, scoped in InputArg arg)
        {
            InputSlot slot = _inputs[index];
            if (slot.Info.IsTensor || !arg.IsValue)
            {
                throw new ArgumentException(
                    $"Input '{slot.Info.Name}' of model '{_signature.ModelName}' has type {slot.Info.TypeDescription}: it takes " +
                    (slot.Info.IsTensor ? "a tensor, not an object (InputArg.FromValue)." : OrtValues.Describe(slot.Info.Type) + " (InputArg.FromValue), not a tensor."),
                    slot.Info.Name);
            }

            IntPtr value = OrtValues.Create(slot.Info.Type, arg.Value, $"input '{slot.Info.Name}' of model '{_signature.ModelName}'", slot.Info.Name);
            if (slot.PinnedData != IntPtr.Zero || slot.Value != IntPtr.Zero)
            {
                slot.EndStaging(); // staged again: the earlier value is not needed
            }

            slot.Value = value;
            slot.Copied = true;
            slot.Staged = true;
            _shapes.GiveLength(index, 1); // no shape to resolve: one value
        }

        /// <summary>
        /// An absent optional input is not bound at all; ONNX Runtime can only clear every input binding, so when one
        /// that was bound is absent now, all are cleared (the run binds the others again).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void UnbindAbsentValues()
        {
            foreach (InputSlot slot in _inputs)
            {
                if (!slot.Info.IsTensor && slot.Value == IntPtr.Zero && slot.IsBound)
                {
                    OrtApi.ClearBoundInputs(_bindingHandle);
                    foreach (InputSlot other in _inputs)
                    {
                        other.ForgetBinding();
                    }

                    return;
                }
            }
        }

        /// <summary>Checks every input is given, resolves shapes, and readies the outputs (binding what changed).</summary>
        private void Prepare(int given)
        {
            for (int i = 0; i < _inputs.Length; i++)
            {
                if (!_inputs[i].Staged)
                {
                    throw new InvalidOperationException(
                        $"Input '{_inputs[i].Info.Name}' of model '{_signature.ModelName}' was not given " +
                        (i >= given ? "(inputs beyond the ones passed to Run must be staged with CopyInput)." : "."));
                }
            }

            OutputSet set = OutputsForRun();
            bool shapesChanged = _shapes.Resolve();
            if (shapesChanged || !_outputsPrepared || _selectionChanged)
            {
                _outputsPrepared = false;
                PrepareOutputs(set);
                _outputsPrepared = true;
            }
        }

        /// <summary>Applies the output selection, sizes and binds the buffers of outputs whose shape is known.</summary>
        private void PrepareOutputs(OutputSet set)
        {
            _collected = false;
            if (_selectionChanged)
            {
                ApplySelection();
            }

            for (int i = 0; i < _boundCount; i++)
            {
                OutputSlot slot = _boundOrder[i];
                if (slot.Predictable && !slot.ForceDynamic)
                {
                    Preallocate(slot, set.Items[slot.Index]);
                }
                else if (slot.Mode != OutputMode.Dynamic || slot.NeedsBind)
                {
                    OrtTensors.BindOutputToCpu(_bindingHandle, slot.NameUtf8);
                    slot.Mode = OutputMode.Dynamic;
                    slot.BoundData = IntPtr.Zero;
                }

                slot.NeedsBind = false;
            }

            _anyDynamic = false;
            for (int i = 0; i < _boundCount; i++)
            {
                _anyDynamic |= _boundOrder[i].Mode == OutputMode.Dynamic;
            }
        }

        /// <summary>
        /// Binds the selected outputs from scratch: ONNX Runtime can only clear all output bindings, and it
        /// reports bound values in bind order. An output declared twice is bound once.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void ApplySelection()
        {
            ulong mask = 0;
            for (int i = 0; i < _outputs.Length && i < 64; i++)
            {
                mask |= _outputs[i].Selected ? 1UL << i : 0;
            }

            ModelSession session = _modelVersion.SessionFor(mask);
            if (session != _session)
            {
                SwitchSession(session);
            }

            OrtApi.ClearBoundOutputs(_bindingHandle);
            _boundCount = 0;
            foreach (OutputSlot slot in _outputs)
            {
                slot.ForgetBinding();
                int first = _layout.FirstWithName[slot.Index];
                if (first != slot.Index)
                {
                    slot.Mode = slot.Selected ? OutputMode.Alias : OutputMode.Unbound; // read through its first occurrence
                }
                else if (slot.Selected || IsAliasSelected(slot.Index))
                {
                    _boundOrder[_boundCount++] = slot;
                }
                else
                {
                    slot.Mode = OutputMode.Unbound;
                }
            }

            _selectionChanged = false;
        }

        private bool IsAliasSelected(int first)
        {
            for (int i = first + 1; i < _outputs.Length; i++)
            {
                if (_outputs[i].Selected && _layout.FirstWithName[i] == first)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Moves to another session's binding: everything is bound again on the next run.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void SwitchSession(ModelSession session)
        {
            var binding = new IoBindingHandle(session.Handle);
            _binding.Dispose();
            _binding = binding;
            _bindingHandle = binding.DangerousGetHandle();
            _session = session;
            _sessionHandle = session.Handle.DangerousGetHandle(); // kept alive by the binding's reference
            foreach (InputSlot slot in _inputs)
            {
                slot.ForgetBinding();
            }
        }

        private void Preallocate(OutputSlot slot, OutputData data)
        {
            long count = _shapes.OutputShape(slot.Index, slot.Shape);
            long bytes = checked(OnnxElementTypes.StorageLength(slot.Info.ElementType, count) * data.ElementSize);
            IntPtr address;
            if (slot.Destination is OutputDestination destination)
            {
                if (destination.Bytes.Length < bytes)
                {
                    throw new ArgumentException(
                        $"Output '{slot.Info.Name}' of model '{_signature.ModelName}' has shape {_shapes.OutputShapeText(slot.Index)} " +
                        $"({count} elements) but its destination buffer holds {destination.Bytes.Length / data.ElementSize}.");
                }

                address = destination.Address;
            }
            else
            {
                data.EnsureBuffer(bytes);
                address = data.BufferAddress;
            }

            bool rebind = slot.NeedsBind || slot.Mode != OutputMode.Preallocated || slot.BoundData != address ||
                          slot.BoundShape is null || !SameShape(slot.Shape, slot.BoundShape);
            if (rebind)
            {
                OrtTensors.BindMemory(_bindingHandle, slot.NameUtf8, output: true, address == IntPtr.Zero ? EmptyAddress : address, bytes, slot.Shape, slot.Info.ElementType);
                slot.BoundData = address;
                slot.BoundShape ??= new long[slot.Shape.Length];
                slot.Shape.AsSpan().CopyTo(slot.BoundShape);
            }

            slot.Mode = OutputMode.Preallocated;
        }

        private static IntPtr EmptyAddress => (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(EmptyData));

        /// <summary>Binds one input at its (pinned) address; re-binds only when the address or the shape changed.</summary>
        /// <param name="index">The input.</param>
        /// <param name="strings">A string input's strings when they are read in place (not copied).</param>
        private void BindInput(int index, scoped ReadOnlySpan<string> strings)
        {
            InputSlot slot = _inputs[index];
            if (!slot.Info.IsTensor)
            {
                if (slot.Value != IntPtr.Zero)
                {
                    IntPtr value = slot.Value;
                    slot.Value = IntPtr.Zero;
                    BindValue(slot, value); // releases ours
                    slot.IsBound = true;
                    slot.BoundData = IntPtr.Zero;
                }

                return;
            }

            ReadOnlySpan<long> shape = _shapes.InputShape(index);
            if (slot.Info.ElementType == OnnxElementType.String)
            {
                BindValue(slot, OrtTensors.CreateStrings(slot.Copied ? slot.CopiedStrings : strings, shape));
                slot.IsBound = true;
                slot.BoundData = IntPtr.Zero; // strings are always copied: never "the same memory" next time
                return;
            }

            IntPtr data = slot.Copied ? (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(slot.CopyBuffer!))
                : slot.PinnedData != IntPtr.Zero ? slot.PinnedData
                : slot.GivenData;
            if (data == IntPtr.Zero)
            {
                data = EmptyAddress; // an empty tensor: any valid address
            }

            if (slot.IsBound && data == slot.BoundData && SameShape(shape, slot.BoundShape))
            {
                return; // same memory, same shape: ONNX Runtime already reads it
            }

            long bytes = OnnxElementTypes.StorageLength(slot.Info.ElementType, ElementCount(shape)) * OnnxElementTypes.SizeOf(slot.Info.ElementType);
            OrtTensors.BindMemory(_bindingHandle, slot.NameUtf8, output: false, data, bytes, shape, slot.Info.ElementType);
            slot.IsBound = true;
            slot.BoundData = data;
            if (slot.BoundShape.Length != shape.Length)
            {
                slot.BoundShape = new long[shape.Length];
            }

            shape.CopyTo(slot.BoundShape);
        }

        /// <summary>Binds a new OrtValue to an input; the binding keeps its own reference, ours is released.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)] // keeps native calls (and their P/Invoke frame) off the hot path
        private void BindValue(InputSlot slot, IntPtr value)
        {
            try
            {
                OrtTensors.BindInput(_bindingHandle, slot.NameUtf8, value);
            }
            finally
            {
                OrtApi.Release(value);
            }
        }

        private static bool SameShape(ReadOnlySpan<long> a, long[] b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }

            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }

            return true;
        }

        private static long ElementCount(ReadOnlySpan<long> shape)
        {
            long count = 1;
            foreach (long d in shape)
            {
                count *= d; // validated by the resolver: no overflow
            }

            return count;
        }

        /// <summary>Runs the bound request. Views of earlier runs go stale before any buffer is written.</summary>
        private void Execute()
        {
            OutputSet set = _current!;
            set.BeginWrite();

            try
            {
                OrtApi.Check(OrtApi.RunWithBinding(_sessionHandle, _runOptionsHandle, _bindingHandle));
            }
            catch (InferenceException ex)
            {
                Interlocked.MemoryBarrier(); // pairs with Cancel: a flag ONNX Runtime saw was marked before it was set
                if (_terminated)
                {
                    throw Cancelled(ex);
                }

                if (!RetryWithDynamicOutputs())
                {
                    throw new InferenceException($"Running model '{_signature.ModelName}' failed: {ex.Message}", ex.OrtErrorCode, ex);
                }
            }

            CollectOutputs(set);
        }

        /// <summary>Records what the run produced: shapes of preallocated outputs, and copies of the ones ONNX Runtime allocated.</summary>
        private void CollectOutputs(OutputSet set)
        {
            if (!_collected)
            {
                // Selection, shapes, buffers or the set changed since the last run written into this set: note what
                // this binding produces (else it all still holds, and a steady run does nothing here).
                foreach (OutputData item in set.Items)
                {
                    item.Produced = false;
                }

                for (int i = 0; i < _boundCount; i++)
                {
                    OutputSlot slot = _boundOrder[i];
                    if (slot.Mode == OutputMode.Preallocated)
                    {
                        OutputData data = set.Items[slot.Index];
                        if (data.Shape.Length != slot.Shape.Length)
                        {
                            data.Shape = new long[slot.Shape.Length];
                        }

                        slot.Shape.AsSpan().CopyTo(data.Shape);
                        data.ElementCount = ElementCount(slot.Shape);
                        data.Destination = slot.Destination;
                        data.Produced = true;
                    }
                }

                _collected = true;
            }

            if (_anyDynamic)
            {
                CopyDynamicOutputs(set); // the only native work here: outputs ONNX Runtime allocated
            }
        }

        /// <summary>
        /// Copies the outputs ONNX Runtime allocated into the set's managed buffers and lets go of ONNX Runtime's
        /// (a pass-through output may even be the caller's input memory, which is only pinned during the call).
        /// String outputs are kept as ONNX Runtime's tensor, owned by a SafeHandle, and decoded when read.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void CopyDynamicOutputs(OutputSet set)
        {
            IntPtr* values = OrtTensors.BoundOutputs(_bindingHandle, out int count);
            try
            {
                for (int i = 0; i < count && i < _boundCount; i++)
                {
                    OutputSlot slot = _boundOrder[i];
                    if (slot.Mode != OutputMode.Dynamic || !slot.Info.IsSupported)
                    {
                        continue;
                    }

                    OutputData data = set.Items[slot.Index];
                    if (!slot.Info.IsTensor)
                    {
                        data.KeepNative(new ValueHandle(values[i])); // decoded when read
                        values[i] = IntPtr.Zero;
                        data.Produced = true;
                        continue;
                    }

                    OrtTensors.ReadShape(values[i], ref data.Shape);
                    data.ElementCount = ElementCount(data.Shape);
                    if (slot.Info.ElementType == OnnxElementType.String)
                    {
                        data.KeepNative(new ValueHandle(values[i]));
                        values[i] = IntPtr.Zero; // owned by the handle now
                    }
                    else
                    {
                        long bytes = data.ByteLength;
                        byte[] buffer = data.EnsureBuffer(bytes);
                        if (bytes > 0)
                        {
                            new ReadOnlySpan<byte>((void*)OrtTensors.DataOf(values[i]), checked((int)bytes)).CopyTo(buffer);
                        }
                    }

                    data.Produced = true;
                }
            }
            finally
            {
                for (int i = 0; i < count; i++)
                {
                    OrtApi.Release(values[i]);
                }

                OrtApi.Free(values);
            }

            // Let ONNX Runtime allocate afresh next time instead of holding this run's values in the binding.
            for (int i = 0; i < _boundCount; i++)
            {
                if (_boundOrder[i].Mode == OutputMode.Dynamic)
                {
                    OrtTensors.BindOutputToCpu(_bindingHandle, _boundOrder[i].NameUtf8);
                }
            }
        }

        /// <summary>
        /// A model may declare an output shape its graph does not produce; a buffer bound with that shape makes
        /// ONNX Runtime fail. Run once more letting ONNX Runtime allocate those outputs, and keep it that way for
        /// the outputs whose real shape differed.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool RetryWithDynamicOutputs()
        {
            _outputsPrepared = false; // output modes change here: the next run prepares them again
            _collected = false;
            bool anyPreallocated = false;
            var predicted = new long[_boundCount][];
            for (int i = 0; i < _boundCount; i++)
            {
                OutputSlot slot = _boundOrder[i];
                predicted[i] = (long[])slot.Shape.Clone();
                if (slot.Mode == OutputMode.Preallocated && slot.Destination is null)
                {
                    anyPreallocated = true;
                    slot.Mode = OutputMode.Dynamic;
                    slot.BoundData = IntPtr.Zero;
                    OrtTensors.BindOutputToCpu(_bindingHandle, slot.NameUtf8);
                }
            }

            _anyDynamic = true;
            if (!anyPreallocated || _terminated)
            {
                return false;
            }

            try
            {
                OrtApi.Check(OrtApi.RunWithBinding(_sessionHandle, _runOptionsHandle, _bindingHandle));
            }
            catch (InferenceException)
            {
                return false; // the failure was not about output buffers: report the original error
            }

            CopyDynamicOutputs(_current!);
            for (int i = 0; i < _boundCount; i++)
            {
                OutputSlot slot = _boundOrder[i];
                if (slot.Predictable && !_current!.Items[slot.Index].Shape.AsSpan().SequenceEqual(predicted[i]))
                {
                    slot.ForceDynamic = true;
                }
            }

            return true;
        }

        private void SelectCore(ulong mask)
        {
            if (mask == _selectedMask && mask != 0)
            {
                return; // generated Run selects on every run: the common case is "no change"
            }

            if (_outputs.Length < 64 && mask >> _outputs.Length != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(mask), mask, $"Model '{_signature.ModelName}' has {_outputs.Length} outputs.");
            }

            if (mask == 0)
            {
                throw new ArgumentException($"Select at least one output of model '{_signature.ModelName}'.", nameof(mask));
            }

            for (int i = 0; i < _outputs.Length; i++)
            {
                Select(_outputs[i], i < 64 && (mask & (1UL << i)) != 0);
            }

            Volatile.Write(ref _selectedMask, mask);
        }

        private void SelectAllCore()
        {
            bool anySupported = Array.Exists(_outputs, o => o.Info.IsSupported);
            foreach (OutputSlot slot in _outputs)
            {
                // Unsupported outputs are only computed when there is nothing else: ONNX Runtime needs one output.
                Select(slot, slot.Info.IsSupported || !anySupported);
            }

            _selectedMask = 0;
        }

        private void Select(OutputSlot slot, bool selected)
        {
            if (slot.Selected != selected)
            {
                slot.Selected = selected;
                _selectionChanged = true;
            }
        }
    }
}
