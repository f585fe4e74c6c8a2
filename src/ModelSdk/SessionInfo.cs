using System;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk
{
    /// <summary>An ONNX Runtime session and its native handle (for calling the C API directly).</summary>
    internal sealed class SessionInfo
    {
        public SessionInfo(InferenceSession session)
        {
            Session = session;
            Handle = Native.OrtNative.SessionHandle(session);
        }

        public InferenceSession Session { get; }

        /// <summary>Null when the managed wrapper's handle can't be read: runs then go through the wrapper.</summary>
        public IntPtr? Handle { get; }
    }
}
