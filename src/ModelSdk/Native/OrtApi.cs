using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelSdk.Native
{
    /// <summary>
    /// ONNX Runtime's C API, each function declared once here with its signature. The managed wrapper
    /// encodes names and allocates a managed object on every bind; calling the C API directly, with names
    /// encoded once and shapes on the stack, keeps every run free of managed allocations. Sessions are also
    /// created here (from bytes ModelSdk has read and hashed itself), so their metadata can be read for every
    /// element type ONNX Runtime knows, which the managed wrapper cannot.
    /// </summary>
    /// <remarks>
    /// Indices are positions in ONNX Runtime's <c>OrtApi</c> struct (onnxruntime_c_api.h), which only ever
    /// grows at the end; a test checks every <c>Index*</c> constant against the managed wrapper's own copy.
    /// Every returned OrtStatus goes through <see cref="Check"/>.
    /// <para>
    /// Calls that only touch a few ONNX Runtime objects (creating or releasing a tensor over existing memory,
    /// binding it, reading dims) are declared <c>SuppressGCTransition</c>: they take far less than a GC suspension
    /// would wait for, and a normal transition (a P/Invoke frame) costs about as much as the call itself. Calls
    /// that do real work (running the model, creating a session, copying many strings) keep the transition.
    /// </para>
    /// </remarks>
    internal static unsafe class OrtApi
    {
        // Oldest API version that has every function used here.
        private const uint ApiVersion = 16;

        internal const int IndexGetErrorCode = 1;
        internal const int IndexGetErrorMessage = 2;
        internal const int IndexCreateSessionFromArray = 8;
        internal const int IndexSessionGetInputCount = 30;
        internal const int IndexSessionGetOutputCount = 31;
        internal const int IndexSessionGetInputTypeInfo = 33;
        internal const int IndexSessionGetOutputTypeInfo = 34;
        internal const int IndexSessionGetInputName = 36;
        internal const int IndexSessionGetOutputName = 37;
        internal const int IndexCreateRunOptions = 39;
        internal const int IndexRunOptionsSetTerminate = 46;
        internal const int IndexRunOptionsUnsetTerminate = 47;
        internal const int IndexCreateTensorAsOrtValue = 48;
        internal const int IndexCreateTensorWithDataAsOrtValue = 49;
        internal const int IndexGetTensorMutableData = 51;
        internal const int IndexFillStringTensor = 52;
        internal const int IndexGetStringTensorDataLength = 53;
        internal const int IndexGetStringTensorContent = 54;
        internal const int IndexCastTypeInfoToTensorInfo = 55;
        internal const int IndexGetOnnxTypeFromTypeInfo = 56;
        internal const int IndexGetTensorElementType = 60;
        internal const int IndexGetDimensionsCount = 61;
        internal const int IndexGetDimensions = 62;
        internal const int IndexGetSymbolicDimensions = 63;
        internal const int IndexGetTensorTypeAndShape = 65;
        internal const int IndexGetValueType = 67;
        internal const int IndexCreateCpuMemoryInfo = 69;
        internal const int IndexAllocatorFree = 76;
        internal const int IndexGetAllocatorWithDefaultOptions = 78;
        internal const int IndexGetValue = 80;
        internal const int IndexGetValueCount = 81;
        internal const int IndexCreateValue = 82;
        internal const int IndexReleaseStatus = 93;
        internal const int IndexReleaseSession = 95;
        internal const int IndexReleaseValue = 96;
        internal const int IndexReleaseRunOptions = 97;
        internal const int IndexReleaseTypeInfo = 98;
        internal const int IndexReleaseTensorTypeAndShapeInfo = 99;
        internal const int IndexCastTypeInfoToMapTypeInfo = 103;
        internal const int IndexCastTypeInfoToSequenceTypeInfo = 104;
        internal const int IndexGetMapKeyType = 105;
        internal const int IndexGetMapValueType = 106;
        internal const int IndexGetSequenceElementType = 107;
        internal const int IndexAddSessionConfigEntry = 130;
        internal const int IndexRunWithBinding = 133;
        internal const int IndexCreateIoBinding = 134;
        internal const int IndexReleaseIoBinding = 135;
        internal const int IndexBindInput = 136;
        internal const int IndexBindOutput = 137;
        internal const int IndexBindOutputToDevice = 138;
        internal const int IndexGetBoundOutputValues = 140;
        internal const int IndexClearBoundInputs = 141;
        internal const int IndexClearBoundOutputs = 142;
        internal const int IndexHasValue = 192;
        internal const int IndexCastTypeInfoToOptionalTypeInfo = 250;
        internal const int IndexGetOptionalContainedTypeInfo = 251;

        private static readonly IntPtr* Table = LoadTable();

        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, int> GetErrorCode =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, int>)Table[IndexGetErrorCode];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*> GetErrorMessage =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*>)Table[IndexGetErrorMessage];
        internal static readonly delegate* unmanaged<IntPtr, void*, nuint, IntPtr, IntPtr*, IntPtr> CreateSessionFromArray =
            (delegate* unmanaged<IntPtr, void*, nuint, IntPtr, IntPtr*, IntPtr>)Table[IndexCreateSessionFromArray];
        internal static readonly delegate* unmanaged<IntPtr, nuint*, IntPtr> SessionGetInputCount = (delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[IndexSessionGetInputCount];
        internal static readonly delegate* unmanaged<IntPtr, nuint*, IntPtr> SessionGetOutputCount = (delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[IndexSessionGetOutputCount];
        internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr> SessionGetInputTypeInfo = (delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)Table[IndexSessionGetInputTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr> SessionGetOutputTypeInfo = (delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)Table[IndexSessionGetOutputTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr, byte**, IntPtr> SessionGetInputName = (delegate* unmanaged<IntPtr, nuint, IntPtr, byte**, IntPtr>)Table[IndexSessionGetInputName];
        internal static readonly delegate* unmanaged<IntPtr, nuint, IntPtr, byte**, IntPtr> SessionGetOutputName = (delegate* unmanaged<IntPtr, nuint, IntPtr, byte**, IntPtr>)Table[IndexSessionGetOutputName];
        internal static readonly delegate* unmanaged<IntPtr*, IntPtr> CreateRunOptions = (delegate* unmanaged<IntPtr*, IntPtr>)Table[IndexCreateRunOptions];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr> RunOptionsSetTerminate =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr>)Table[IndexRunOptionsSetTerminate];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr> RunOptionsUnsetTerminate =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr>)Table[IndexRunOptionsUnsetTerminate];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, long*, nuint, int, IntPtr*, IntPtr> CreateTensorAsOrtValue =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, long*, nuint, int, IntPtr*, IntPtr>)Table[IndexCreateTensorAsOrtValue];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr, nuint, long*, nuint, int, IntPtr*, IntPtr> CreateTensorWithDataAsOrtValue =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr, nuint, long*, nuint, int, IntPtr*, IntPtr>)Table[IndexCreateTensorWithDataAsOrtValue];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr*, IntPtr> GetTensorMutableData =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr*, IntPtr>)Table[IndexGetTensorMutableData];
        internal static readonly delegate* unmanaged<IntPtr, byte**, nuint, IntPtr> FillStringTensor = (delegate* unmanaged<IntPtr, byte**, nuint, IntPtr>)Table[IndexFillStringTensor];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, IntPtr> GetStringTensorDataLength =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, IntPtr>)Table[IndexGetStringTensorDataLength];
        internal static readonly delegate* unmanaged<IntPtr, byte*, nuint, nuint*, nuint, IntPtr> GetStringTensorContent =
            (delegate* unmanaged<IntPtr, byte*, nuint, nuint*, nuint, IntPtr>)Table[IndexGetStringTensorContent];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> CastTypeInfoToTensorInfo = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexCastTypeInfoToTensorInfo];
        internal static readonly delegate* unmanaged<IntPtr, int*, IntPtr> GetOnnxTypeFromTypeInfo = (delegate* unmanaged<IntPtr, int*, IntPtr>)Table[IndexGetOnnxTypeFromTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, int*, IntPtr> GetTensorElementType = (delegate* unmanaged<IntPtr, int*, IntPtr>)Table[IndexGetTensorElementType];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, IntPtr> GetDimensionsCount =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, nuint*, IntPtr>)Table[IndexGetDimensionsCount];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, long*, nuint, IntPtr> GetDimensions =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, long*, nuint, IntPtr>)Table[IndexGetDimensions];
        internal static readonly delegate* unmanaged<IntPtr, byte**, nuint, IntPtr> GetSymbolicDimensions = (delegate* unmanaged<IntPtr, byte**, nuint, IntPtr>)Table[IndexGetSymbolicDimensions];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr*, IntPtr> GetTensorTypeAndShape =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr*, IntPtr>)Table[IndexGetTensorTypeAndShape];
        internal static readonly delegate* unmanaged<int, int, IntPtr*, IntPtr> CreateCpuMemoryInfo = (delegate* unmanaged<int, int, IntPtr*, IntPtr>)Table[IndexCreateCpuMemoryInfo];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, void*, IntPtr> AllocatorFree =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, void*, IntPtr>)Table[IndexAllocatorFree];
        internal static readonly delegate* unmanaged<IntPtr*, IntPtr> GetAllocatorWithDefaultOptions = (delegate* unmanaged<IntPtr*, IntPtr>)Table[IndexGetAllocatorWithDefaultOptions];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, void> ReleaseStatus =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, void>)Table[IndexReleaseStatus];
        internal static readonly delegate* unmanaged<IntPtr, void> ReleaseSession = (delegate* unmanaged<IntPtr, void>)Table[IndexReleaseSession];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, void> ReleaseValue =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, void>)Table[IndexReleaseValue];
        internal static readonly delegate* unmanaged<IntPtr, void> ReleaseRunOptions = (delegate* unmanaged<IntPtr, void>)Table[IndexReleaseRunOptions];
        internal static readonly delegate* unmanaged<IntPtr, void> ReleaseTypeInfo = (delegate* unmanaged<IntPtr, void>)Table[IndexReleaseTypeInfo];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, void> ReleaseTensorTypeAndShapeInfo =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, void>)Table[IndexReleaseTensorTypeAndShapeInfo];
        internal static readonly delegate* unmanaged<IntPtr, byte*, byte*, IntPtr> AddSessionConfigEntry = (delegate* unmanaged<IntPtr, byte*, byte*, IntPtr>)Table[IndexAddSessionConfigEntry];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr> RunWithBinding = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)Table[IndexRunWithBinding];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> CreateIoBinding = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexCreateIoBinding];
        internal static readonly delegate* unmanaged<IntPtr, void> ReleaseIoBinding = (delegate* unmanaged<IntPtr, void>)Table[IndexReleaseIoBinding];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*, IntPtr, IntPtr> BindInput =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*, IntPtr, IntPtr>)Table[IndexBindInput];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*, IntPtr, IntPtr> BindOutput =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*, IntPtr, IntPtr>)Table[IndexBindOutput];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*, IntPtr, IntPtr> BindOutputToDevice =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, byte*, IntPtr, IntPtr>)Table[IndexBindOutputToDevice];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr, IntPtr**, nuint*, IntPtr> GetBoundOutputValues =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, IntPtr, IntPtr**, nuint*, IntPtr>)Table[IndexGetBoundOutputValues];
        internal static readonly delegate* unmanaged[SuppressGCTransition]<IntPtr, void> ClearBoundOutputs =
            (delegate* unmanaged[SuppressGCTransition]<IntPtr, void>)Table[IndexClearBoundOutputs];

        // Sequences, maps and optionals: created from tensors, read element by element (each element a new OrtValue to release).
        internal static readonly delegate* unmanaged<IntPtr, int*, IntPtr> GetValueType = (delegate* unmanaged<IntPtr, int*, IntPtr>)Table[IndexGetValueType];
        internal static readonly delegate* unmanaged<IntPtr, int, IntPtr, IntPtr*, IntPtr> GetValue = (delegate* unmanaged<IntPtr, int, IntPtr, IntPtr*, IntPtr>)Table[IndexGetValue];
        internal static readonly delegate* unmanaged<IntPtr, nuint*, IntPtr> GetValueCount = (delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[IndexGetValueCount];
        internal static readonly delegate* unmanaged<IntPtr*, nuint, int, IntPtr*, IntPtr> CreateValue = (delegate* unmanaged<IntPtr*, nuint, int, IntPtr*, IntPtr>)Table[IndexCreateValue];
        internal static readonly delegate* unmanaged<IntPtr, int*, IntPtr> HasValue = (delegate* unmanaged<IntPtr, int*, IntPtr>)Table[IndexHasValue];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> CastTypeInfoToMapTypeInfo = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexCastTypeInfoToMapTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> CastTypeInfoToSequenceTypeInfo = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexCastTypeInfoToSequenceTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, int*, IntPtr> GetMapKeyType = (delegate* unmanaged<IntPtr, int*, IntPtr>)Table[IndexGetMapKeyType];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> GetMapValueType = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexGetMapValueType];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> GetSequenceElementType = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexGetSequenceElementType];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> CastTypeInfoToOptionalTypeInfo = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexCastTypeInfoToOptionalTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr> GetOptionalContainedTypeInfo = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexGetOptionalContainedTypeInfo];
        internal static readonly delegate* unmanaged<IntPtr, void> ClearBoundInputs = (delegate* unmanaged<IntPtr, void>)Table[IndexClearBoundInputs];

        /// <summary>CPU memory description used for every tensor that wraps managed or caller memory.</summary>
        internal static readonly IntPtr CpuMemoryInfo = NewCpuMemoryInfo();

        /// <summary>ONNX Runtime's default CPU allocator (owned by ONNX Runtime: never released).</summary>
        internal static readonly IntPtr DefaultAllocator = NewDefaultAllocator();

        [DllImport("onnxruntime", EntryPoint = "OrtGetApiBase")]
        private static extern IntPtr OrtGetApiBase();

        private static IntPtr* LoadTable()
        {
            // OrtApiBase is { const OrtApi* (*GetApi)(uint32_t version); const char* (*GetVersionString)(void); }
            IntPtr apiBase = OrtGetApiBase();
            var getApi = (delegate* unmanaged<uint, IntPtr>)(*(IntPtr*)apiBase);
            IntPtr api = getApi(ApiVersion);
            if (api == IntPtr.Zero)
            {
                throw new InvalidOperationException($"The ONNX Runtime native library does not support C API version {ApiVersion}.");
            }

            return (IntPtr*)api;
        }

        private static IntPtr NewCpuMemoryInfo()
        {
            IntPtr info;
            Check(CreateCpuMemoryInfo(0 /* OrtDeviceAllocator */, 0 /* OrtMemTypeDefault */, &info));
            return info;
        }

        private static IntPtr NewDefaultAllocator()
        {
            IntPtr allocator;
            Check(GetAllocatorWithDefaultOptions(&allocator));
            return allocator;
        }

        /// <summary>Throws <see cref="InferenceException"/> for a non-null OrtStatus (and releases it).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Check(IntPtr status)
        {
            if (status != IntPtr.Zero)
            {
                ThrowStatus(status);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void ThrowStatus(IntPtr status)
        {
            int code = GetErrorCode(status);
            string text = Marshal.PtrToStringUTF8((IntPtr)GetErrorMessage(status)) ?? "unknown error";
            ReleaseStatus(status);
            throw new InferenceException(text, code);
        }

        /// <summary>Frees memory ONNX Runtime's default allocator handed out (names, arrays of values).</summary>
        internal static void Free(void* pointer)
        {
            if (pointer != null)
            {
                Check(AllocatorFree(DefaultAllocator, pointer));
            }
        }

        /// <summary>Releases an OrtValue ModelSdk holds (zero is ignored).</summary>
        internal static void Release(IntPtr value)
        {
            if (value != IntPtr.Zero)
            {
                ReleaseValue(value);
            }
        }
    }
}
