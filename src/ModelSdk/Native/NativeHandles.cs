using System;
using System.Runtime.InteropServices;

namespace ModelSdk.Native
{
    /// <summary>
    /// The ownership of every native object ModelSdk keeps beyond one call, in one place. Each is a
    /// <see cref="SafeHandle"/>: released once, by whoever drops the last reference (a run in flight holds
    /// one), or by the GC when its owner is dropped without <c>Dispose</c>. An I/O binding holds a reference on
    /// its session, so a session is never freed under a binding, whatever order they are disposed in.
    /// </summary>
    internal abstract class OrtHandle : SafeHandle
    {
        protected OrtHandle()
            : base(IntPtr.Zero, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == IntPtr.Zero;
    }

    /// <summary>An ONNX Runtime session (<c>OrtSession*</c>).</summary>
    internal sealed unsafe class SessionHandle : OrtHandle
    {
        private SessionHandle()
        {
        }

        /// <summary>Creates a session from the bytes of a model (ONNX Runtime copies what it keeps).</summary>
        public static SessionHandle Create(ReadOnlySpan<byte> model, Microsoft.ML.OnnxRuntime.SessionOptions options)
        {
            var session = new SessionHandle();
            IntPtr env = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().DangerousGetHandle();
            bool addedOptions = false;
            options.DangerousAddRef(ref addedOptions);
            try
            {
                IntPtr created;
                fixed (byte* data = model)
                {
                    OrtApi.Check(OrtApi.CreateSessionFromArray(env, data, (nuint)model.Length, options.DangerousGetHandle(), &created));
                }

                session.SetHandle(created);
                return session;
            }
            finally
            {
                if (addedOptions)
                {
                    options.DangerousRelease();
                }
            }
        }

        protected override bool ReleaseHandle()
        {
            OrtApi.ReleaseSession(handle);
            NativeHeap.GiveBackFreedMemory();
            return true;
        }
    }

    /// <summary>An I/O binding (<c>OrtIoBinding*</c>) of one session; it keeps the session alive.</summary>
    internal sealed unsafe class IoBindingHandle : OrtHandle
    {
        private SessionHandle? _session;

        public IoBindingHandle(SessionHandle session)
        {
            bool added = false;
            session.DangerousAddRef(ref added);
            try
            {
                IntPtr binding;
                OrtApi.Check(OrtApi.CreateIoBinding(session.DangerousGetHandle(), &binding));
                SetHandle(binding);
                _session = session;
            }
            catch
            {
                session.DangerousRelease();
                throw;
            }
        }

        protected override bool ReleaseHandle()
        {
            OrtApi.ReleaseIoBinding(handle);
            _session?.DangerousRelease();
            _session = null;
            return true;
        }
    }

    /// <summary>Run options (<c>OrtRunOptions*</c>): one per request, for its terminate flag.</summary>
    internal sealed unsafe class RunOptionsHandle : OrtHandle
    {
        public RunOptionsHandle()
        {
            IntPtr options;
            OrtApi.Check(OrtApi.CreateRunOptions(&options));
            SetHandle(options);
        }

        protected override bool ReleaseHandle()
        {
            OrtApi.ReleaseRunOptions(handle);
            return true;
        }
    }

    /// <summary>An OrtValue that ONNX Runtime allocated and ModelSdk keeps past the run (string outputs, read when first asked for).</summary>
    internal sealed unsafe class ValueHandle : OrtHandle
    {
        public ValueHandle(IntPtr value) => SetHandle(value);

        protected override bool ReleaseHandle()
        {
            OrtApi.ReleaseValue(handle);
            return true;
        }
    }
}
