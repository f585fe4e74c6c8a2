using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Native;

namespace ModelSdk
{
    public sealed unsafe partial class InferRequest
    {
        private void BeginRun()
        {
            ThrowIfDisposed();
            if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            {
                throw new InvalidOperationException(
                    $"This request of model '{_signature.ModelName}' is already running (REQUEST_BUSY): one request runs one inference at a time. " +
                    "Use another request (model.CreateRequest()) or wait for this one.");
            }

            if (_disposed || _model.IsDisposed)
            {
                Volatile.Write(ref _busy, 0);
                ThrowIfDisposed();
                throw new ObjectDisposedException(_model.GetType().Name, $"Model '{_signature.ModelName}' was disposed.");
            }
        }

        private void EndRun()
        {
            ReleaseInputs();
            BecomeIdle();
        }

        /// <summary>Ends this run's hold on its inputs: the caller's memory is no longer read, so it is unpinned.</summary>
        private void ReleaseInputs()
        {
            foreach (InputSlot slot in _inputs)
            {
                slot.EndStaging();
            }
        }

        /// <summary>Forgets the run's symbol values and frees the request for the next run (the busy flag).</summary>
        private void BecomeIdle()
        {
            if (_symbols.Length != 0)
            {
                _symbols.AsSpan().Fill(-1); // given and inferred values hold for one run only
                _symbolsGiven = false;
            }

            Volatile.Write(ref _busy, 0);
        }

        /// <summary>Records an input for this run: checks its type, notes its length and shape, copies it if asked.</summary>
        private void Stage(int index, InputArg arg, bool copy)
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

            if (arg.Type != slot.Info.ElementType)
            {
                throw ModelErrors.InputType(_signature, index, arg.Type);
            }

            slot.GivenLength = arg.Length;
            slot.ExplicitShape = arg.HasShape;
            slot.Resolved = false;
            if (arg.HasShape)
            {
                _prepared = false; // the slot's shape is overwritten below, maybe with one that gets rejected
                if (slot.Info.HasShape && arg.Lengths.Length != slot.Info.Rank)
                {
                    throw ModelErrors.InputShape(_signature, index,
                        $"it has {slot.Info.Rank} dimensions but the given tensor has {arg.Lengths.Length} ({FormatShape(arg.Lengths)}).");
                }

                if (slot.Shape.Length != arg.Lengths.Length)
                {
                    slot.Shape = new long[arg.Lengths.Length];
                }

                for (int d = 0; d < arg.Lengths.Length; d++)
                {
                    if (arg.Lengths[d] < 0)
                    {
                        throw ModelErrors.InputShape(_signature, index, $"the given shape {FormatShape(arg.Lengths)} has a negative dimension.");
                    }

                    slot.Shape[d] = arg.Lengths[d];
                }
            }
            else if (!slot.Info.HasShape && slot.Shape.Length != 1)
            {
                slot.Shape = new long[1]; // no declared shape and none given: a flat 1-D tensor
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

        private static string FormatShape(ReadOnlySpan<nint> lengths)
        {
            var parts = new string[lengths.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                parts[i] = lengths[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return "[" + string.Join(", ", parts) + "]";
        }

        /// <summary>Resolves every input's shape (inferring symbolic dims), checks lengths, and readies the outputs.</summary>
        private void PrepareRun(int given)
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

            if (SameAsPrepared())
            {
                return; // same lengths, nothing given: the shapes and output bindings of the last run still hold
            }

            _prepared = false;
            ResolveShapes();
            PrepareOutputs();

            // Remember what this preparation followed from, unless a given shape or symbol decided it.
            _prepared = !_symbolsGiven;
            foreach (InputSlot slot in _inputs)
            {
                _prepared &= !slot.ExplicitShape;
                slot.PreparedLength = slot.GivenLength;
            }
        }

        /// <summary>
        /// True when this run's shapes and output bindings are the last run's: every input has the length the
        /// last preparation followed from, no shape or symbol is given, and outputs and their buffers are unchanged.
        /// Repeated runs on the same shapes then skip shape inference entirely.
        /// </summary>
        private bool SameAsPrepared()
        {
            if (!_prepared || _symbolsGiven || _selectionChanged)
            {
                return false;
            }

            foreach (InputSlot slot in _inputs)
            {
                if (slot.ExplicitShape || slot.PreparedLength != slot.GivenLength)
                {
                    return false;
                }
            }

            return true;
        }

        private void ResolveShapes()
        {
            // Explicit shapes first: they fix symbols for everyone else.
            for (int i = 0; i < _inputs.Length; i++)
            {
                InputSlot slot = _inputs[i];
                if (slot.ExplicitShape)
                {
                    for (int d = 0; d < slot.Info.Rank; d++)
                    {
                        Dim dim = slot.Info.DimArray[d];
                        long given = slot.Shape[d];
                        if (dim.IsFixed && given != dim.Value)
                        {
                            throw ModelErrors.InputShape(_signature, i, $"dimension {d} must be {dim.Value} but the given tensor has {given}.");
                        }

                        if (!dim.IsFixed)
                        {
                            ref long symbol = ref _symbols[dim.SymbolIndex];
                            if (symbol >= 0 && symbol != given)
                            {
                                throw ModelErrors.InputShape(_signature, i,
                                    $"dimension {d} ({_signature.SymbolName(dim.SymbolIndex)}) is {given} in the given tensor but {_signature.SymbolName(dim.SymbolIndex)} = {symbol}.");
                            }

                            symbol = given;
                        }
                    }

                    slot.Resolved = true;
                }
                else if (!slot.Info.HasShape)
                {
                    slot.Shape[0] = slot.GivenLength;
                    slot.Resolved = true;
                }
            }

            // Flat inputs: infer one unknown symbol per input from its length; repeat while that makes progress.
            bool progress = true;
            while (progress)
            {
                progress = false;
                for (int i = 0; i < _inputs.Length; i++)
                {
                    InputSlot slot = _inputs[i];
                    if (!slot.Resolved && TryInferSymbol(i))
                    {
                        progress = true;
                    }
                }
            }

            for (int i = 0; i < _inputs.Length; i++)
            {
                InputSlot slot = _inputs[i];
                if (!slot.ExplicitShape && slot.Info.HasShape)
                {
                    FillShape(i);
                }

                long expected = ElementCount(i, slot.Shape);
                if (expected != slot.GivenLength)
                {
                    throw ModelErrors.InputLength(_signature, i, ShapeText(i), expected, slot.GivenLength);
                }
            }
        }

        /// <summary>Infers the one unset symbol of a flat input from its length; false if it has none or several.</summary>
        private bool TryInferSymbol(int index)
        {
            InputSlot slot = _inputs[index];
            int unknown = -1;
            long known = 1;
            foreach (Dim dim in slot.Info.DimArray)
            {
                long value = dim.IsFixed ? dim.Value : _symbols[dim.SymbolIndex];
                if (value >= 0)
                {
                    known = value == 0 || known <= long.MaxValue / value ? known * value : long.MaxValue;
                }
                else if (unknown < 0 || unknown == dim.SymbolIndex)
                {
                    if (unknown == dim.SymbolIndex)
                    {
                        return false; // the same symbol twice (e.g. [n, n]): not inferred from a length
                    }

                    unknown = dim.SymbolIndex;
                }
                else
                {
                    return false; // two unknown symbols: wait for another input to fix one
                }
            }

            if (unknown < 0)
            {
                slot.Resolved = true;
                return true;
            }

            if (known == 0 || slot.GivenLength % known != 0)
            {
                throw ModelErrors.InputShape(_signature, index,
                    $"{slot.GivenLength} elements can't be read as {ShapeText(index)}: pass {_signature.SymbolName(unknown)} explicitly or give a matching length.");
            }

            _symbols[unknown] = slot.GivenLength / known;
            slot.Resolved = true;
            return true;
        }

        private void FillShape(int index)
        {
            InputSlot slot = _inputs[index];
            Dim[] dims = slot.Info.DimArray;
            for (int d = 0; d < dims.Length; d++)
            {
                long value = dims[d].IsFixed ? dims[d].Value : _symbols[dims[d].SymbolIndex];
                if (value < 0)
                {
                    throw ModelErrors.InputShape(_signature, index,
                        $"the value of {_signature.SymbolName(dims[d].SymbolIndex)} can't be inferred from the input lengths; pass it to Run.");
                }

                slot.Shape[d] = value;
            }
        }

        private long ElementCount(int index, long[] shape)
        {
            try
            {
                long count = 1;
                foreach (long d in shape)
                {
                    count = checked(count * d);
                }

                return count;
            }
            catch (OverflowException)
            {
                throw ModelErrors.InputShape(_signature, index, $"the shape {ShapeText(index)} has more elements than fit in memory.");
            }
        }

        private string ShapeText(int index) => ModelErrors.ShapeText(_inputs[index].Info.Dims, _symbols);

        /// <summary>Applies the output selection, sizes and binds the buffers of predictable outputs.</summary>
        private void PrepareOutputs()
        {
            if (_selectionChanged)
            {
                ApplySelection();
            }

            for (int i = 0; i < _boundCount; i++)
            {
                OutputSlot slot = _boundOrder[i];
                if (slot.Predictable && !slot.ForceDynamic)
                {
                    PreallocateOutput(slot);
                }
                else if (slot.Mode != OutputMode.Dynamic || slot.NeedsBind)
                {
                    BindToCpu(slot);
                    slot.Mode = OutputMode.Dynamic;
                }

                slot.NeedsBind = false;
            }

            UpdateAnyDynamic();
        }

        /// <summary>
        /// Re-binds the selected outputs from scratch: ONNX Runtime can only clear all output bindings, and it
        /// reports bound values in bind order, which is graph order here.
        /// </summary>
        private void ApplySelection()
        {
            Volatile.Write(ref _version, _version + 1); // outputs of the last run are about to be released: their views go stale now
            ulong mask = 0;
            for (int i = 0; i < _outputs.Length && i < 64; i++)
            {
                mask |= _outputs[i].Selected ? 1UL << i : 0;
            }

            SessionInfo session = _model.SessionFor(mask);
            if (session != _session)
            {
                SwitchSession(session);
            }

            OrtNative.ClearBoundOutputs(_bindingHandle);
            _boundCount = 0;
            foreach (OutputSlot slot in _outputs)
            {
                slot.ReleaseFetched();
                if (slot.Selected)
                {
                    slot.NeedsBind = true;
                    _boundOrder[_boundCount++] = slot;
                }
                else
                {
                    slot.Mode = OutputMode.Unbound;
                }
            }

            _selectionChanged = false;
        }

        private void BindToCpu(OutputSlot slot)
        {
            fixed (byte* name = slot.NameUtf8)
            {
                OrtNative.BindOutputToCpu(_bindingHandle, name);
            }
        }

        private void PreallocateOutput(OutputSlot slot)
        {
            Dim[] dims = slot.Info.DimArray;
            long count = 1;
            for (int d = 0; d < dims.Length; d++)
            {
                long value = dims[d].IsFixed ? dims[d].Value : _symbols[dims[d].SymbolIndex];
                slot.Shape[d] = value;
                count = checked(count * value);
            }

            long bytes = checked(count * slot.ElementSize);
            IntPtr data;
            if (slot.Destination != IntPtr.Zero)
            {
                if (slot.DestinationBytes < bytes)
                {
                    throw new ArgumentException(
                        $"Output '{slot.Info.Name}' of model '{_signature.ModelName}' has shape {ModelErrors.ShapeText(slot.Info.Dims, _symbols)} " +
                        $"({count} elements) but its destination buffer holds {slot.DestinationBytes / slot.ElementSize}.");
                }

                data = slot.Destination;
            }
            else
            {
                if (bytes > Array.MaxLength)
                {
                    throw new InvalidOperationException($"Output '{slot.Info.Name}' of model '{_signature.ModelName}' would need {bytes} bytes, more than one buffer can hold.");
                }

                if (slot.Buffer is null || slot.Buffer.Length < bytes)
                {
                    // Pinned for the request's lifetime: ONNX Runtime writes into it directly. Grows, never shrinks.
                    long capacity = slot.Buffer is null ? bytes : Math.Min(Array.MaxLength, Math.Max(bytes, 2L * slot.Buffer.Length));
                    slot.Buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(capacity, 8), pinned: true);
                }

                data = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(slot.Buffer));
            }

            slot.ElementCount = count;
            slot.Data = data;
            bool rebind = slot.NeedsBind || slot.Mode != OutputMode.Preallocated || slot.BoundValue == IntPtr.Zero ||
                          slot.BoundData != data || !slot.Shape.AsSpan().SequenceEqual(slot.BoundShape);
            if (rebind)
            {
                IntPtr value;
                fixed (long* shape = slot.Shape)
                {
                    value = OrtNative.CreateTensorWithData(data, bytes, shape, slot.Shape.Length, slot.Info.ElementType);
                }

                try
                {
                    fixed (byte* name = slot.NameUtf8)
                    {
                        OrtNative.BindOutput(_bindingHandle, name, value);
                    }
                }
                catch
                {
                    OrtNative.ReleaseValue(value);
                    throw;
                }

                OrtNative.ReleaseValue(slot.BoundValue);
                slot.BoundValue = value;
                slot.BoundData = data;
                slot.BoundShape ??= new long[slot.Shape.Length];
                slot.Shape.AsSpan().CopyTo(slot.BoundShape);
            }

            slot.Mode = OutputMode.Preallocated;
        }

        /// <summary>Binds one input at its (pinned) address; re-binds only when the address or the shape changed.</summary>
        private void BindInput(int index, byte* pinned, ReadOnlySpan<string> strings)
        {
            InputSlot slot = _inputs[index];
            if (slot.Info.ElementType == OnnxElementType.String)
            {
                BindStrings(slot, slot.Copied ? slot.CopiedStrings : strings);
                return;
            }

            byte* data = slot.Copied ? (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(slot.CopyBuffer!))
                : slot.PinnedData != IntPtr.Zero ? (byte*)slot.PinnedData
                : pinned;
            if (data == null)
            {
                data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(EmptyData)); // empty tensor: any valid address
            }

            if ((IntPtr)data == slot.BoundData && slot.BoundValue != IntPtr.Zero && slot.Shape.AsSpan().SequenceEqual(slot.BoundShape))
            {
                return; // same memory, same shape: ONNX Runtime already reads it
            }

            long bytes = slot.GivenLength * OnnxElementTypes.SizeOf(slot.Info.ElementType);
            IntPtr value;
            fixed (long* shape = slot.Shape)
            {
                value = OrtNative.CreateTensorWithData((IntPtr)data, bytes, shape, slot.Shape.Length, slot.Info.ElementType);
            }

            Rebind(slot, value);
            slot.BoundData = (IntPtr)data;
            if (slot.BoundShape.Length != slot.Shape.Length)
            {
                slot.BoundShape = new long[slot.Shape.Length];
            }

            slot.Shape.AsSpan().CopyTo(slot.BoundShape);
        }

        private void BindStrings(InputSlot slot, ReadOnlySpan<string> strings)
        {
            IntPtr value;
            fixed (long* shape = slot.Shape)
            {
                value = OrtNative.CreateTensor(shape, slot.Shape.Length, OnnxElementType.String);
            }

            try
            {
                OrtNative.FillStringTensor(value, strings);
            }
            catch
            {
                OrtNative.ReleaseValue(value);
                throw;
            }

            Rebind(slot, value);
            slot.BoundData = IntPtr.Zero; // strings are always copied: never "the same memory" next time
        }

        private void Rebind(InputSlot slot, IntPtr value)
        {
            try
            {
                fixed (byte* name = slot.NameUtf8)
                {
                    OrtNative.BindInput(_bindingHandle, name, value);
                }
            }
            catch
            {
                OrtNative.ReleaseValue(value);
                throw;
            }

            OrtNative.ReleaseValue(slot.BoundValue); // the binding holds its own reference to the new value
            slot.BoundValue = value;
        }

        private void BindCopiedInputs(int from)
        {
            for (int i = from; i < _inputs.Length; i++)
            {
                BindInput(i, null, default);
            }
        }

        /// <summary>Runs the bound request. Output views of earlier runs become stale before any buffer is overwritten.</summary>
        private void Execute()
        {
            Volatile.Write(ref _version, _version + 1); // only the running owner writes it (the busy flag)
            if (_anyDynamic)
            {
                for (int i = 0; i < _boundCount; i++)
                {
                    OutputSlot slot = _boundOrder[i];
                    if (slot.Mode == OutputMode.Dynamic && slot.FetchedValue != IntPtr.Zero)
                    {
                        slot.ReleaseFetched();
                        BindToCpu(slot); // drop last run's value so ONNX Runtime allocates afresh
                    }
                }
            }

            try
            {
                RunBound();
            }
            catch (Exception ex) when (ex is InferenceException or OnnxRuntimeException)
            {
                if (!RetryWithDynamicOutputs())
                {
                    throw new InferenceException($"Running model '{_signature.ModelName}' failed: {ex.Message}", (ex as InferenceException)?.OrtErrorCode ?? -1, ex);
                }
            }

            if (_anyDynamic)
            {
                FetchDynamicOutputs();
            }
        }

        /// <summary>RunWithBinding through the C API when the session's handle is known (no wrapper overhead), else the managed call.</summary>
        private void RunBound()
        {
            if (_session.Handle is IntPtr session)
            {
                OrtNative.RunWithBinding(session, _runOptionsHandle, _bindingHandle);
            }
            else
            {
                _session.Session.RunWithBinding(_runOptions, _binding);
            }
        }

        private void UpdateAnyDynamic()
        {
            _anyDynamic = false;
            for (int i = 0; i < _boundCount; i++)
            {
                _anyDynamic |= _boundOrder[i].Mode == OutputMode.Dynamic;
            }
        }

        /// <summary>
        /// A model may declare an output shape that its graph does not produce; a buffer bound with that shape
        /// makes ONNX Runtime fail. Run once more letting ONNX Runtime allocate those outputs, and keep it that
        /// way for the outputs whose real shape differed.
        /// </summary>
        private bool RetryWithDynamicOutputs()
        {
            _prepared = false; // output modes change here: the next run prepares them again
            bool anyPreallocated = false;
            for (int i = 0; i < _boundCount; i++)
            {
                OutputSlot slot = _boundOrder[i];
                if (slot.Mode == OutputMode.Preallocated && slot.Destination == IntPtr.Zero)
                {
                    anyPreallocated = true;
                    slot.Mode = OutputMode.Dynamic;
                    slot.Release();
                    BindToCpu(slot);
                }
            }

            UpdateAnyDynamic();
            if (!anyPreallocated || _runOptions.Terminate)
            {
                return false;
            }

            var predicted = new long[_boundCount][];
            for (int i = 0; i < _boundCount; i++)
            {
                predicted[i] = (long[])_boundOrder[i].Shape.Clone();
            }

            try
            {
                RunBound();
            }
            catch (Exception ex) when (ex is InferenceException or OnnxRuntimeException)
            {
                return false; // the failure was not about output buffers: report the original error
            }

            FetchDynamicOutputs();
            for (int i = 0; i < _boundCount; i++)
            {
                OutputSlot slot = _boundOrder[i];
                if (slot.Predictable && !slot.Shape.AsSpan().SequenceEqual(predicted[i]))
                {
                    slot.ForceDynamic = true;
                }
            }

            return true;
        }

        private void FetchDynamicOutputs()
        {
            IntPtr* values = OrtNative.GetBoundOutputValues(_bindingHandle, out int count);
            try
            {
                for (int i = 0; i < count && i < _boundCount; i++)
                {
                    OutputSlot slot = _boundOrder[i];
                    if (slot.Mode != OutputMode.Dynamic)
                    {
                        continue;
                    }

                    slot.FetchedValue = values[i];
                    values[i] = IntPtr.Zero;
                    if (!slot.Info.IsSupported)
                    {
                        continue;
                    }

                    OrtNative.GetShape(slot.FetchedValue, ref slot.Shape);
                    long elements = 1;
                    foreach (long d in slot.Shape)
                    {
                        elements = checked(elements * d);
                    }

                    slot.ElementCount = elements;
                    slot.Data = slot.Info.ElementType == OnnxElementType.String ? IntPtr.Zero : OrtNative.GetTensorData(slot.FetchedValue);
                }
            }
            finally
            {
                for (int i = 0; i < count; i++)
                {
                    OrtNative.ReleaseValue(values[i]);
                }

                OrtNative.FreeWithDefaultAllocator(values);
            }
        }

        /// <summary>Throws when a view of <paramref name="version"/> is read after the request moved on.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal void CheckFresh(int index, long version)
        {
            if (version != Volatile.Read(ref _version) || _disposed)
            {
                throw ModelErrors.StaleOutput(_signature, index, _disposed);
            }
        }

        internal ReadOnlySpan<T> OutputSpan<T>(int index, long version, bool bytes = false)
        {
            CheckFresh(index, version);
            OutputSlot slot = _outputs[index];
            if (!slot.Info.IsSupported)
            {
                throw ModelErrors.UnsupportedOutput(_signature, index);
            }

            if (slot.Mode == OutputMode.Unbound)
            {
                throw ModelErrors.NotSelected(_signature, index);
            }

            int length = checked((int)(bytes ? slot.ElementCount * slot.ElementSize : slot.ElementCount));
            if (typeof(T) == typeof(string))
            {
                if (slot.StringsVersion != version)
                {
                    slot.Strings = OrtNative.ReadStringTensor(slot.FetchedValue, slot.ElementCount);
                    slot.StringsVersion = version;
                }

                return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<string, T>(ref MemoryMarshal.GetArrayDataReference(slot.Strings!)), length);
            }

            if (slot.Mode == OutputMode.Preallocated && slot.Destination == IntPtr.Zero)
            {
                // A span over the managed buffer: it keeps the buffer alive even if the request goes away.
                return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetArrayDataReference(slot.Buffer!)), length);
            }

            return new ReadOnlySpan<T>((void*)slot.Data, length);
        }

        internal ReadOnlySpan<long> OutputShape(int index, long version)
        {
            CheckProduced(index, version);
            return _outputs[index].Shape;
        }

        internal long OutputElementCount(int index, long version)
        {
            CheckProduced(index, version);
            return _outputs[index].ElementCount;
        }

        private void CheckProduced(int index, long version)
        {
            CheckFresh(index, version);
            if (_outputs[index].Mode == OutputMode.Unbound)
            {
                throw _outputs[index].Info.IsSupported ? ModelErrors.NotSelected(_signature, index) : ModelErrors.UnsupportedOutput(_signature, index);
            }
        }

        internal TensorInfo OutputInfo(int index) => _outputs[index].Info;
    }
}
