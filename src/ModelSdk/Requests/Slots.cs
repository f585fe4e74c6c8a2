using System;
using System.Buffers;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>Per-input state of a request: how this run's data arrives and what ONNX Runtime has bound.</summary>
    internal sealed class InputSlot
    {
        public InputSlot(TensorInfo info)
        {
            Info = info;
            NameUtf8 = OrtTensors.Utf8Z(info.Name);
        }

        public readonly TensorInfo Info;
        public readonly byte[] NameUtf8;

        // This run's data: given this run (Staged), copied into the request's buffer (Copied), or the caller's memory.
        public bool Staged;
        public bool Copied;
        public byte[]? CopyBuffer;          // pinned (pinned object heap), owned by the request
        public string[]? CopiedStrings;

        // The caller's memory of an input given to a synchronous run: pinned by the run's own frame, for the call only.
        public IntPtr GivenData;

        // The caller's memory of an input shared with an asynchronous run: pinned until the run ends.
        public IntPtr PinnedData;
        public MemoryHandle Pin;
        public object? KeepAlive;

        // A sequence, map or optional input: the value ONNX Runtime owns, made from the caller's object when staged
        // and released once bound (the binding keeps its own reference). Zero for an absent optional.
        public IntPtr Value;

        // What the binding reads: an OrtValue over BoundData with BoundShape (the binding keeps its own reference).
        public bool IsBound;
        public IntPtr BoundData;
        public long[] BoundShape = Array.Empty<long>();

        /// <summary>Ends this run's use of the caller's memory (copies and pins).</summary>
        public void EndStaging()
        {
            Staged = false;
            Copied = false;
            CopiedStrings = null;
            GivenData = IntPtr.Zero;
            if (PinnedData != IntPtr.Zero)
            {
                Pin.Dispose();
                Pin = default;
                PinnedData = IntPtr.Zero;
            }

            KeepAlive = null;
            ReleaseValue();
        }

        /// <summary>Lets go of a staged value not yet bound.</summary>
        public void ReleaseValue()
        {
            if (Value != IntPtr.Zero)
            {
                OrtApi.Release(Value);
                Value = IntPtr.Zero;
            }
        }

        /// <summary>The binding was replaced: bind again on the next run.</summary>
        public void ForgetBinding()
        {
            IsBound = false;
            BoundData = IntPtr.Zero;
        }
    }

    /// <summary>How an output gets its memory in the current binding.</summary>
    internal enum OutputMode
    {
        /// <summary>Not bound: ONNX Runtime does not produce it for this request.</summary>
        Unbound,

        /// <summary>Written by ONNX Runtime straight into the output set's buffer (or a caller's): shape known before the run.</summary>
        Preallocated,

        /// <summary>Allocated by ONNX Runtime during the run (shape known only after it), then copied into the output set.</summary>
        Dynamic,

        /// <summary>A duplicate of an earlier output with the same name: bound once, read through the first.</summary>
        Alias,
    }

    /// <summary>Per-output binding state of a request (the data itself is in the request's <see cref="OutputSet"/>).</summary>
    internal sealed class OutputSlot
    {
        public OutputSlot(TensorInfo info, int index)
        {
            Info = info;
            Index = index;
            NameUtf8 = OrtTensors.Utf8Z(info.Name);
            Shape = new long[info.Rank];
        }

        public readonly TensorInfo Info;
        public readonly int Index;
        public readonly byte[] NameUtf8;
        public OutputMode Mode;

        // Its shape follows from the inputs (fixed dims or dims named like an input's), so a buffer is bound before the run.
        public bool Predictable;

        // The model's declared shape turned out wrong: ONNX Runtime allocates this output from now on.
        public bool ForceDynamic;

        // Selected for the next runs (unselected outputs are not bound, so ONNX Runtime does not produce them).
        public bool Selected;

        // Must be bound anew (after the output bindings were cleared or the binding replaced).
        public bool NeedsBind;

        // The shape predicted for this run (preallocated outputs).
        public long[] Shape;

        // A caller's buffer this output is written into, pinned until replaced or cleared.
        public OutputDestination? Destination;

        // What the binding writes into.
        public IntPtr BoundData;
        public long[]? BoundShape;

        public void ForgetBinding()
        {
            BoundData = IntPtr.Zero;
            BoundShape = null;
            NeedsBind = true;
        }
    }
}
