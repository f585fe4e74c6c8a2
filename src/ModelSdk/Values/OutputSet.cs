using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>
    /// The outputs of one run, always in memory the GC tracks: pinned managed buffers that ONNX Runtime
    /// writes into (or that ModelSdk copies ONNX Runtime's own outputs into right after the run), a caller's
    /// buffer, or, for strings, a native tensor held by a <see cref="SafeHandle"/> until it is decoded. A span
    /// over a buffer keeps the buffer alive, so no span ModelSdk hands out can outlive its memory.
    /// </summary>
    /// <remarks>
    /// A set belongs to a request, which writes every run into it, until the request lends it to an owned
    /// result (<c>RunAsync</c>); the result gives it back on <c>Dispose</c> (the request then reuses it) or the
    /// GC collects it with the result. Views remember the <see cref="Version"/> they were taken at; the version
    /// changes before a run writes and when the set is given back or released, so a view of an older run
    /// throws instead of reading other data.
    /// </remarks>
    internal sealed class OutputSet
    {
        private const int Owned = 0, Lent = 1, Returned = 2;

        private readonly ModelSignature _signature;
        private long _version;
        private int _state;
        private StaleReason _reason;

        // allocateShapes: false for sets whose outputs get their shapes from elsewhere (a batcher's items share one per batch).
        public OutputSet(ModelSignature signature, OutputLayout layout, bool allocateShapes = true)
        {
            _signature = signature;
            Layout = layout;
            Items = new OutputData[signature.Outputs.Count];
            for (int i = 0; i < Items.Length; i++)
            {
                int first = layout.FirstWithName[i];
                Items[i] = first == i ? new OutputData(signature.Outputs[i], allocateShapes) : Items[first]; // a duplicated output reads its first occurrence
            }
        }

        /// <summary>Per output; duplicated outputs share one item.</summary>
        public OutputData[] Items { get; }

        public ModelSignature Signature => _signature;

        public OutputLayout Layout { get; }

        public long Version => Volatile.Read(ref _version);

        /// <summary>
        /// Before a run writes into the set: views of earlier runs become stale. One writer at a time changes the
        /// version (the owning request while it runs, or the result that gives the set back, before it does), so
        /// a plain increment suffices; it is ordered before the run's writes.
        /// </summary>
        public void BeginWrite(StaleReason reason = StaleReason.RanAgain)
        {
            _reason = reason;
            Volatile.Write(ref _version, _version + 1);
            if (!StrongLoadOrder)
            {
                Interlocked.MemoryBarrier(); // weaker memory models may let later stores pass the version
            }
        }

        /// <summary>Makes every view stale for good (the request was disposed).</summary>
        public void Invalidate(StaleReason reason) => BeginWrite(reason);

        /// <summary>
        /// Hands the set to a result: the request stops writing into it. Values still held as ONNX Runtime's (strings,
        /// sequences, maps) are decoded now and let go, so a result holds managed memory only: one dropped without
        /// Dispose is collected like any object, and the GC sees what it holds (native memory it can't see would
        /// pile up between collections).
        /// </summary>
        public void Lend()
        {
            long version = Version;
            for (int i = 0; i < Items.Length; i++)
            {
                if (Layout.FirstWithName[i] == i)
                {
                    Items[i].Materialize(this, i, version);
                }
            }

            Volatile.Write(ref _state, Lent);
        }

        /// <summary>A result gives the set back (once: its Dispose takes the set before calling this); views of it become stale.</summary>
        public void GiveBack()
        {
            if (Volatile.Read(ref _state) == Lent)
            {
                BeginWrite(StaleReason.ResultDisposed); // before the request can reclaim it and write
                Volatile.Write(ref _state, Returned);
            }
        }

        /// <summary>The lending request takes a given-back set again; false while a result still holds it.</summary>
        public bool TryReclaim() => Interlocked.CompareExchange(ref _state, Owned, Returned) == Returned;

        /// <summary>A copy that owns its data (every produced output copied, strings decoded).</summary>
        public OutputSet Clone(long version)
        {
            CheckFresh(0, version);
            var copy = new OutputSet(_signature, Layout);
            for (int i = 0; i < Items.Length; i++)
            {
                if (Layout.FirstWithName[i] != i)
                {
                    continue; // duplicates share the first occurrence's copy
                }

                Items[i].CopyTo(copy.Items[i], this, i, version);
            }

            CheckFresh(0, version);
            return copy;
        }

        /// <summary>Throws when a view of <paramref name="version"/> is read after the set moved on.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void CheckFresh(int index, long version)
        {
            if (version != Volatile.Read(ref _version))
            {
                throw ModelErrors.StaleOutput(_signature, index, _reason);
            }
        }

        /// <summary>Second half of a consistent read: throws if a run started (or the set was given back) during it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void CheckStillFresh(int index, long version)
        {
            // The data read before must not move past the version check. x86 and x64 never reorder loads with
            // older loads; weaker memory models need a fence.
            if (!StrongLoadOrder)
            {
                Interlocked.MemoryBarrier();
            }

            CheckFresh(index, version);
        }

        private static readonly bool StrongLoadOrder =
            RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

        /// <summary>The produced output <paramref name="index"/> of run <paramref name="version"/>.</summary>
        public OutputData Produced(int index, long version)
        {
            CheckFresh(index, version);
            OutputData item = Items[index];
            if (!item.Produced)
            {
                throw item.Info.IsSupported ? ModelErrors.NotSelected(_signature, index) : ModelErrors.UnsupportedOutput(_signature, index);
            }

            return item;
        }

        /// <summary>The elements of a produced output, in place.</summary>
        public ReadOnlySpan<T> Span<T>(int index, long version)
        {
            OutputData item = Produced(index, version);
            if (typeof(T) == typeof(string))
            {
                string[] strings = item.StringsOf(this, index, version);
                return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<string, T>(ref MemoryMarshal.GetArrayDataReference(strings)), strings.Length);
            }

            if (item.Destination is null)
            {
                // The common case, without re-deriving the byte length: a produced item's buffer always holds its elements.
                return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetArrayDataReference(item.Buffer!)), checked((int)item.StorageLength));
            }

            ReadOnlySpan<byte> bytes = item.Bytes();
            return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetReference(bytes)), bytes.Length / Unsafe.SizeOf<T>());
        }
    }

    /// <summary>Why a view no longer holds its run's data (for the message).</summary>
    internal enum StaleReason
    {
        RanAgain,
        ResultDisposed,
        RequestDisposed,
        ModelDisposed,
    }

    /// <summary>Which outputs share data: a name declared twice is bound once and read through its first occurrence.</summary>
    internal sealed class OutputLayout
    {
        public OutputLayout(ModelSignature signature)
        {
            FirstWithName = new int[signature.Outputs.Count];
            IsPassThrough = new bool[signature.Outputs.Count];
            for (int i = 0; i < FirstWithName.Length; i++)
            {
                string name = signature.Outputs[i].Name;
                FirstWithName[i] = signature.IndexOfOutput(name);
                IsPassThrough[i] = signature.IndexOfInput(name) >= 0;
            }
        }

        /// <summary>For each output, the index of the first output with its name (itself unless duplicated).</summary>
        public int[] FirstWithName { get; }

        /// <summary>
        /// Outputs that are graph inputs too: ONNX Runtime hands back the input itself and ignores a buffer bound
        /// for them, so they are bound for ONNX Runtime to fill and copied out right after the run.
        /// </summary>
        public bool[] IsPassThrough { get; }
    }

    /// <summary>One output of one run.</summary>
    internal sealed class OutputData
    {
        public OutputData(TensorInfo info, bool allocateShape = true)
        {
            Info = info;
            Shape = allocateShape && info.Rank > 0 ? new long[info.Rank] : Array.Empty<long>();
            ElementSize = OnnxElementTypes.SizeOf(info.ElementType);
            _packed = OnnxElementTypes.IsPacked(info.ElementType);
        }

        private readonly bool _packed; // 4-bit elements, two per stored value

        /// <summary>How many values of the element's C# type hold this run's elements (pairs for the 4-bit types).</summary>
        public long StorageLength => _packed ? (ElementCount + 1) / 2 : ElementCount;

        public TensorInfo Info { get; }

        public int ElementSize { get; }

        /// <summary>Produced by the last run written into this set (selected and run).</summary>
        public bool Produced;

        public long[] Shape;

        public long ElementCount;

        /// <summary>A pinned buffer (pinned object heap) at least <see cref="ByteLength"/> long; grows, never shrinks.</summary>
        public byte[]? Buffer;

        /// <summary>Set when the run wrote into a caller's buffer instead (see <c>SetOutputDestination</c>).</summary>
        public OutputDestination? Destination;

        // String, sequence, map and optional outputs: ONNX Runtime's value, decoded on first read.
        private ValueHandle? _native;
        private string[]? _strings;
        private object? _decoded;
        private bool _isDecoded;

        public long ByteLength => StorageLength * ElementSize;

        /// <summary>A buffer for <paramref name="bytes"/> bytes (the current one when big enough).</summary>
        public byte[] EnsureBuffer(long bytes)
        {
            if (bytes > Array.MaxLength)
            {
                throw new InvalidOperationException($"Output '{Info.Name}' would need {bytes} bytes, more than one buffer can hold.");
            }

            if (Buffer is null || Buffer.Length < bytes)
            {
                long capacity = Buffer is null ? bytes : Math.Min(Array.MaxLength, Math.Max(bytes, 2L * Buffer.Length));
                Buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(capacity, 8), pinned: true);
            }

            return Buffer;
        }

        /// <summary>Makes this output one item's rows of a batched run: its own copy (not pinned: ONNX Runtime never writes it).</summary>
        public void SetRow(long[] shape, long elementCount, ReadOnlySpan<byte> bytes)
        {
            Shape = shape;
            ElementCount = elementCount;
            Buffer = bytes.Length == 0 ? Array.Empty<byte>() : bytes.ToArray();
            Produced = true;
        }

        /// <summary>Address of <see cref="Buffer"/>: stable, it is on the pinned object heap.</summary>
        public unsafe IntPtr BufferAddress => (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Buffer!));

        public ReadOnlySpan<byte> Bytes()
        {
            int length = checked((int)ByteLength);
            return Destination != null ? Destination.Bytes.Slice(0, length) : Buffer.AsSpan(0, length);
        }

        /// <summary>Keeps a value ONNX Runtime produced (strings, sequences, maps, optionals), released when replaced or collected; null lets go.</summary>
        public void KeepNative(ValueHandle? value)
        {
            ValueHandle? old;
            lock (this)
            {
                old = _native;
                _native = value;
                _strings = null;
                _decoded = null;
                _isDecoded = false;
            }

            old?.Dispose(); // deferred while a reader holds it
        }

        public void ClearNative() => KeepNative(null);

        /// <summary>The strings of run <paramref name="version"/>, decoded once.</summary>
        public string[] StringsOf(OutputSet set, int index, long version)
        {
            string[]? strings = Volatile.Read(ref _strings);
            if (strings is null)
            {
                lock (this)
                {
                    strings = _strings;
                    if (strings is null)
                    {
                        strings = ReadNative(set, index, static (value, count) => OrtTensors.ReadStrings(value, count), ElementCount);
                        Volatile.Write(ref _strings, strings);
                    }
                }
            }

            set.CheckStillFresh(index, version);
            return strings;
        }

        /// <summary>The sequence, map or optional of run <paramref name="version"/>, decoded into managed objects once (null: an absent optional).</summary>
        public object? ValueOf(OutputSet set, int index, long version)
        {
            object? decoded;
            lock (this)
            {
                if (!_isDecoded)
                {
                    _decoded = ReadNative(set, index, static (value, type) => OrtValues.Read(type, value), Info.Type);
                    _isDecoded = true;
                }

                decoded = _decoded;
            }

            set.CheckStillFresh(index, version);
            return decoded;
        }

        /// <summary>Reads the kept value (called under the lock); a run replacing it meanwhile can't free it under us.</summary>
        private T ReadNative<T, TState>(OutputSet set, int index, Func<IntPtr, TState, T> read, TState state)
        {
            ValueHandle value = _native ?? throw ModelErrors.StaleOutput(set.Signature, index, StaleReason.RanAgain);
            bool added = false;
            value.DangerousAddRef(ref added);
            try
            {
                return read(value.DangerousGetHandle(), state);
            }
            finally
            {
                value.DangerousRelease();
            }
        }

        /// <summary>Decodes a value held as ONNX Runtime's (strings, sequences, maps, optionals) and lets go of the native one.</summary>
        public void Materialize(OutputSet set, int index, long version)
        {
            if (!Produced || Volatile.Read(ref _native) is null)
            {
                return;
            }

            try
            {
                _ = Info.IsTensor ? StringsOf(set, index, version) : ValueOf(set, index, version);
            }
            catch (Exception ex) when (ex is InferenceException or InvalidOperationException)
            {
                return; // left as it is: reading the output decodes it then, and reports the error to the reader
            }

            ValueHandle? native;
            lock (this)
            {
                native = _native;
                _native = null; // the decoded copy stays
            }

            native?.Dispose();
        }

        /// <summary>Makes this item hold an already decoded value (owned copies of a result).</summary>
        private void AdoptDecoded(object? decoded)
        {
            lock (this)
            {
                _decoded = decoded;
                _isDecoded = true;
            }
        }

        /// <summary>Copies this run's data into another set's item (for owned copies).</summary>
        public void CopyTo(OutputData target, OutputSet set, int index, long version)
        {
            target.Produced = Produced;
            if (!Produced)
            {
                return;
            }

            target.Shape = (long[])Shape.Clone();
            target.ElementCount = ElementCount;
            if (!Info.IsTensor)
            {
                target.AdoptDecoded(ValueOf(set, index, version)); // immutable managed objects: shared, not copied
            }
            else if (Info.ElementType == OnnxElementType.String)
            {
                target._strings = StringsOf(set, index, version);
            }
            else
            {
                ReadOnlySpan<byte> bytes = Bytes();
                bytes.CopyTo(target.EnsureBuffer(bytes.Length));
            }
        }
    }

    /// <summary>A caller's buffer an output is written into, pinned while set.</summary>
    internal abstract class OutputDestination : IDisposable
    {
        public abstract Span<byte> Bytes { get; }

        public abstract IntPtr Address { get; }

        public abstract void Dispose();
    }

    /// <summary>A caller's <see cref="Memory{T}"/> as an output destination.</summary>
    internal sealed unsafe class OutputDestination<T> : OutputDestination
        where T : unmanaged
    {
        private readonly Memory<T> _memory;
        private System.Buffers.MemoryHandle _pin;

        public OutputDestination(Memory<T> memory)
        {
            _memory = memory;
            _pin = memory.Pin();
        }

        public override Span<byte> Bytes => MemoryMarshal.AsBytes(_memory.Span);

        public override IntPtr Address => (IntPtr)_pin.Pointer;

        public override void Dispose()
        {
            _pin.Dispose();
            _pin = default;
        }
    }
}
