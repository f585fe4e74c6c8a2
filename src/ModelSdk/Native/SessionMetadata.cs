using System;
using System.Runtime.InteropServices;

namespace ModelSdk.Native
{
    /// <summary>One input or output of a loaded session, as ONNX Runtime sees it.</summary>
    internal sealed class SessionValue
    {
        public SessionValue(string name, OnnxType type, long[] dims)
        {
            Name = name;
            Type = type;
            Dims = dims;
        }

        public string Name { get; }

        /// <summary>The full type (sequences, maps and optionals nested).</summary>
        public OnnxType Type { get; }

        public OnnxValueKind Kind => Type.Kind;

        /// <summary>For tensors; Undefined otherwise.</summary>
        public OnnxElementType ElementType => Type.Kind == OnnxValueKind.Tensor ? Type.ElementType : OnnxElementType.Undefined;

        /// <summary>For tensors: the dims, -1 where symbolic or unknown.</summary>
        public long[] Dims { get; }
    }

    /// <summary>Reads a session's inputs and outputs through the C API (every element type, float8 included).</summary>
    internal static unsafe class SessionMetadata
    {
        public static SessionValue[] Inputs(SessionHandle session) => Read(session, inputs: true);

        public static SessionValue[] Outputs(SessionHandle session) => Read(session, inputs: false);

        private static SessionValue[] Read(SessionHandle session, bool inputs)
        {
            bool added = false;
            session.DangerousAddRef(ref added);
            try
            {
                IntPtr handle = session.DangerousGetHandle();
                nuint count;
                OrtApi.Check(inputs ? OrtApi.SessionGetInputCount(handle, &count) : OrtApi.SessionGetOutputCount(handle, &count));
                var values = new SessionValue[(int)count];
                for (nuint i = 0; i < count; i++)
                {
                    values[(int)i] = ReadOne(handle, i, inputs);
                }

                return values;
            }
            finally
            {
                if (added)
                {
                    session.DangerousRelease();
                }
            }
        }

        private static SessionValue ReadOne(IntPtr session, nuint index, bool input)
        {
            byte* rawName;
            OrtApi.Check(input
                ? OrtApi.SessionGetInputName(session, index, OrtApi.DefaultAllocator, &rawName)
                : OrtApi.SessionGetOutputName(session, index, OrtApi.DefaultAllocator, &rawName));
            string name;
            try
            {
                name = Marshal.PtrToStringUTF8((IntPtr)rawName) ?? string.Empty;
            }
            finally
            {
                OrtApi.Free(rawName);
            }

            IntPtr typeInfo;
            OrtApi.Check(input ? OrtApi.SessionGetInputTypeInfo(session, index, &typeInfo) : OrtApi.SessionGetOutputTypeInfo(session, index, &typeInfo));
            try
            {
                OnnxType type = OrtValues.TypeOf(typeInfo);
                if (type.Kind != OnnxValueKind.Tensor)
                {
                    return new SessionValue(name, type, Array.Empty<long>());
                }

                IntPtr tensorInfo; // owned by typeInfo
                OrtApi.Check(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                nuint rank;
                OrtApi.Check(OrtApi.GetDimensionsCount(tensorInfo, &rank));
                var dims = new long[(int)rank];
                fixed (long* p = dims)
                {
                    OrtApi.Check(OrtApi.GetDimensions(tensorInfo, p, rank));
                }

                return new SessionValue(name, type, dims);
            }
            finally
            {
                OrtApi.ReleaseTypeInfo(typeInfo);
            }
        }
    }
}
