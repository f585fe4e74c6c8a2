using System;
using System.Text;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>Per-input state of a request: the shape of this run and what is bound in ONNX Runtime.</summary>
    internal sealed class InputSlot
    {
        public InputSlot(TensorInfo info)
        {
            Info = info;
            NameUtf8 = Utf8Z(info.Name);
            Shape = new long[info.Rank];
            BoundShape = new long[info.Rank];
        }

        public readonly TensorInfo Info;
        public readonly byte[] NameUtf8;

        // This run: given length, shape (explicit or resolved), how the data arrives.
        public bool Staged;
        public bool ExplicitShape;
        public bool Resolved;
        public long GivenLength;
        public long[] Shape;
        public bool Copied;
        public byte[]? CopyBuffer;      // pinned (POH) buffer owned by the request, for InputMode.Copy
        public string[]? CopiedStrings;

        // Shared (not copied) memory of an input staged for an asynchronous run: pinned until the run completes.
        public IntPtr PinnedData;
        public System.Buffers.MemoryHandle Pin;
        public object? KeepAlive;

        // What ONNX Runtime holds: an OrtValue over BoundData with BoundShape.
        public IntPtr BoundValue;
        public IntPtr BoundData;
        public long[] BoundShape;

        // The length the current shape was resolved from (see InferRequest.SameAsPrepared).
        public long PreparedLength = -1;

        public static byte[] Utf8Z(string name)
        {
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(name) + 1];
            Encoding.UTF8.GetBytes(name, 0, name.Length, bytes, 0);
            return bytes;
        }

        public void Release()
        {
            Unpin();
            OrtNative.ReleaseValue(BoundValue);
            BoundValue = IntPtr.Zero;
            BoundData = IntPtr.Zero;
        }

        /// <summary>Drops what is bound for this input (its binding is replaced); it is bound again on the next run.</summary>
        public void ForgetBinding()
        {
            OrtNative.ReleaseValue(BoundValue);
            BoundValue = IntPtr.Zero;
            BoundData = IntPtr.Zero;
        }

        /// <summary>Ends this run's use of the caller's memory (staged copies and pins).</summary>
        public void EndStaging()
        {
            Staged = false;
            Copied = false;
            CopiedStrings = null;
            if (PinnedData != IntPtr.Zero)
            {
                Unpin();
            }
        }

        private void Unpin()
        {
            Pin.Dispose();
            Pin = default;
            PinnedData = IntPtr.Zero;
            KeepAlive = null;
        }
    }

    /// <summary>How an output gets its memory.</summary>
    internal enum OutputMode
    {
        /// <summary>Not bound: ONNX Runtime does not compute it for this request.</summary>
        Unbound,

        /// <summary>Written by ONNX Runtime straight into a buffer the request owns (shape known before the run).</summary>
        Preallocated,

        /// <summary>Allocated by ONNX Runtime during the run (shape known only after it); read in place.</summary>
        Dynamic,
    }

    /// <summary>Per-output state of a request.</summary>
    internal sealed class OutputSlot
    {
        public OutputSlot(TensorInfo info, int index)
        {
            Info = info;
            Index = index;
            NameUtf8 = InputSlot.Utf8Z(info.Name);
            Shape = new long[info.Rank];
            ElementSize = OnnxElementTypes.SizeOf(info.ElementType);
        }

        public readonly TensorInfo Info;
        public readonly int Index;
        public readonly byte[] NameUtf8;
        public readonly int ElementSize;
        public OutputMode Mode;

        // The output's shape can be predicted from the inputs, so a buffer can be bound before the run.
        public bool Predictable;

        // Set when the model's declared shape turned out wrong: ONNX Runtime allocates this output from now on.
        public bool ForceDynamic;

        // Selected for the next runs (unselected outputs are not bound, so ONNX Runtime does not produce them).
        public bool Selected;

        // Bound anew after the output bindings were cleared (ONNX Runtime reports bound values in bind order).
        public bool NeedsBind;

        // A caller's buffer this output is written into, pinned until replaced or cleared.
        public System.Buffers.MemoryHandle DestinationPin;
        public IntPtr Destination;
        public long DestinationBytes;
        public IntPtr BoundData;

        // Result of the last run.
        public long[] Shape;
        public long ElementCount;
        public IntPtr Data;
        public string[]? Strings;       // decoded lazily for string outputs
        public long StringsVersion = -1;

        // Preallocated: a pinned buffer and the OrtValue that wraps it with BoundShape.
        public byte[]? Buffer;
        public IntPtr BoundValue;
        public long[]? BoundShape;

        // Dynamic: the OrtValue ONNX Runtime produced in the last run (released before the next).
        public IntPtr FetchedValue;

        public void ReleaseFetched()
        {
            OrtNative.ReleaseValue(FetchedValue);
            FetchedValue = IntPtr.Zero;
        }

        public void Release()
        {
            ReleaseFetched();
            OrtNative.ReleaseValue(BoundValue);
            BoundValue = IntPtr.Zero;
            BoundShape = null;
            BoundData = IntPtr.Zero;
        }

        public void ClearDestination()
        {
            DestinationPin.Dispose();
            DestinationPin = default;
            Destination = IntPtr.Zero;
            DestinationBytes = 0;
        }
    }
}
