using System;
using System.Runtime.InteropServices;

namespace ModelSdk.Native
{
    /// <summary>ONNX's value kinds, as ONNX Runtime reports them (<c>ONNXType</c>).</summary>
    internal enum OnnxValueKind
    {
        Unknown = 0,
        Tensor = 1,
        Sequence = 2,
        Map = 3,
        Opaque = 4,
        SparseTensor = 5,
        Optional = 6,
    }

    /// <summary>One input or output of a loaded session, as ONNX Runtime sees it.</summary>
    internal sealed class SessionValue
    {
        public SessionValue(string name, OnnxValueKind kind, OnnxElementType elementType, long[] dims)
        {
            Name = name;
            Kind = kind;
            ElementType = elementType;
            Dims = dims;
        }

        public string Name { get; }

        public OnnxValueKind Kind { get; }

        /// <summary>For tensors; Undefined otherwise.</summary>
        public OnnxElementType ElementType { get; }

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
                int kind;
                OrtApi.Check(OrtApi.GetOnnxTypeFromTypeInfo(typeInfo, &kind));
                if ((OnnxValueKind)kind != OnnxValueKind.Tensor)
                {
                    return new SessionValue(name, (OnnxValueKind)kind, OnnxElementType.Undefined, Array.Empty<long>());
                }

                IntPtr tensorInfo; // owned by typeInfo
                OrtApi.Check(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                int elementType;
                OrtApi.Check(OrtApi.GetTensorElementType(tensorInfo, &elementType));
                nuint rank;
                OrtApi.Check(OrtApi.GetDimensionsCount(tensorInfo, &rank));
                var dims = new long[(int)rank];
                fixed (long* p = dims)
                {
                    OrtApi.Check(OrtApi.GetDimensions(tensorInfo, p, rank));
                }

                return new SessionValue(name, OnnxValueKind.Tensor, (OnnxElementType)elementType, dims);
            }
            finally
            {
                OrtApi.ReleaseTypeInfo(typeInfo);
            }
        }
    }
}
