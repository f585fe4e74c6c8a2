using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelSdk.Native
{
    /// <summary>
    /// Direct calls into ONNX Runtime's C API for the hot path. The managed wrapper encodes a name to
    /// UTF-8 and allocates a managed OrtValue on every bind; binding through the C API with names
    /// encoded once and shapes on the stack keeps every run free of managed allocations, even when
    /// the caller's buffer or the shape changes.
    /// </summary>
    /// <remarks>
    /// Function-table indices come from ONNX Runtime's <c>OrtApi</c> struct (onnxruntime_c_api.h),
    /// which only ever grows at the end; a test checks them against the managed wrapper's own copy.
    /// </remarks>
    internal static unsafe class OrtNative
    {
        // Oldest API version that has every function used here (IoBinding arrived in 1.3, i.e. version 3).
        private const uint ApiVersion = 16;

        internal const int IndexGetErrorCode = 1;
        internal const int IndexGetErrorMessage = 2;
        internal const int IndexCreateTensorAsOrtValue = 48;
        internal const int IndexCreateTensorWithDataAsOrtValue = 49;
        internal const int IndexGetTensorMutableData = 51;
        internal const int IndexFillStringTensor = 52;
        internal const int IndexGetStringTensorDataLength = 53;
        internal const int IndexGetStringTensorContent = 54;
        internal const int IndexGetDimensionsCount = 61;
        internal const int IndexGetDimensions = 62;
        internal const int IndexGetTensorTypeAndShape = 65;
        internal const int IndexCreateCpuMemoryInfo = 69;
        internal const int IndexAllocatorFree = 76;
        internal const int IndexGetAllocatorWithDefaultOptions = 78;
        internal const int IndexReleaseStatus = 93;
        internal const int IndexReleaseValue = 96;
        internal const int IndexReleaseTensorTypeAndShapeInfo = 99;
        internal const int IndexRunWithBinding = 133;
        internal const int IndexBindInput = 136;
        internal const int IndexBindOutput = 137;
        internal const int IndexBindOutputToDevice = 138;
        internal const int IndexGetBoundOutputValues = 140;
        internal const int IndexClearBoundOutputs = 142;

        private static readonly IntPtr* Table = LoadTable();

        /// <summary>CPU memory description used for every tensor that wraps managed or caller memory.</summary>
        internal static readonly IntPtr CpuMemoryInfo = CreateCpuMemoryInfo();

        /// <summary>ONNX Runtime's default CPU allocator (not to be released).</summary>
        internal static readonly IntPtr DefaultAllocator = GetDefaultAllocator();

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

        private static IntPtr CreateCpuMemoryInfo()
        {
            IntPtr info;
            // OrtDeviceAllocator = 0, OrtMemTypeDefault = 0
            Check(((delegate* unmanaged<int, int, IntPtr*, IntPtr>)Table[IndexCreateCpuMemoryInfo])(0, 0, &info));
            return info;
        }

        private static IntPtr GetDefaultAllocator()
        {
            IntPtr allocator;
            Check(((delegate* unmanaged<IntPtr*, IntPtr>)Table[IndexGetAllocatorWithDefaultOptions])(&allocator));
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
            int code = ((delegate* unmanaged<IntPtr, int>)Table[IndexGetErrorCode])(status);
            IntPtr message = ((delegate* unmanaged<IntPtr, IntPtr>)Table[IndexGetErrorMessage])(status);
            string text = Marshal.PtrToStringUTF8(message) ?? "unknown error";
            ((delegate* unmanaged<IntPtr, void>)Table[IndexReleaseStatus])(status);
            throw new InferenceException(text, code);
        }

        internal static IntPtr CreateTensorWithData(IntPtr data, long byteLength, long* shape, int rank, OnnxElementType type)
        {
            IntPtr value;
            Check(((delegate* unmanaged<IntPtr, IntPtr, nuint, long*, nuint, int, IntPtr*, IntPtr>)Table[IndexCreateTensorWithDataAsOrtValue])(
                CpuMemoryInfo, data, (nuint)byteLength, shape, (nuint)rank, (int)type, &value));
            return value;
        }

        internal static IntPtr CreateTensor(long* shape, int rank, OnnxElementType type)
        {
            IntPtr value;
            Check(((delegate* unmanaged<IntPtr, long*, nuint, int, IntPtr*, IntPtr>)Table[IndexCreateTensorAsOrtValue])(
                DefaultAllocator, shape, (nuint)rank, (int)type, &value));
            return value;
        }

        internal static void ReleaseValue(IntPtr value)
        {
            if (value != IntPtr.Zero)
            {
                ((delegate* unmanaged<IntPtr, void>)Table[IndexReleaseValue])(value);
            }
        }

        /// <summary>Runs a session on an I/O binding; throws <see cref="InferenceException"/> with ONNX Runtime's message.</summary>
        internal static void RunWithBinding(IntPtr session, IntPtr runOptions, IntPtr binding) =>
            Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)Table[IndexRunWithBinding])(session, runOptions, binding));

        /// <summary>
        /// The native handle of a managed session, read once per model. The managed wrapper keeps it internal;
        /// null when a future version renamed it, and then the managed RunWithBinding is used instead.
        /// </summary>
        internal static IntPtr? SessionHandle(Microsoft.ML.OnnxRuntime.InferenceSession session)
        {
            System.Reflection.FieldInfo? field = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).GetField(
                "_nativeHandle", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
            return field?.GetValue(session) is IntPtr handle && handle != IntPtr.Zero ? handle : null;
        }

        internal static void BindInput(IntPtr binding, byte* name, IntPtr value) =>
            Check(((delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr>)Table[IndexBindInput])(binding, name, value));

        internal static void BindOutput(IntPtr binding, byte* name, IntPtr value) =>
            Check(((delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr>)Table[IndexBindOutput])(binding, name, value));

        internal static void BindOutputToCpu(IntPtr binding, byte* name) =>
            Check(((delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr>)Table[IndexBindOutputToDevice])(binding, name, CpuMemoryInfo));

        /// <summary>Unbinds every output (ONNX Runtime has no call to unbind just one).</summary>
        internal static void ClearBoundOutputs(IntPtr binding) =>
            ((delegate* unmanaged<IntPtr, void>)Table[IndexClearBoundOutputs])(binding);

        /// <summary>The bound outputs after a run, in binding order; each value must be released, the array freed.</summary>
        internal static IntPtr* GetBoundOutputValues(IntPtr binding, out int count)
        {
            IntPtr* values;
            nuint n;
            Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr**, nuint*, IntPtr>)Table[IndexGetBoundOutputValues])(
                binding, DefaultAllocator, &values, &n));
            count = (int)n;
            return values;
        }

        internal static void FreeWithDefaultAllocator(void* pointer)
        {
            if (pointer != null)
            {
                Check(((delegate* unmanaged<IntPtr, void*, IntPtr>)Table[IndexAllocatorFree])(DefaultAllocator, pointer));
            }
        }

        internal static IntPtr GetTensorData(IntPtr value)
        {
            IntPtr data;
            Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexGetTensorMutableData])(value, &data));
            return data;
        }

        /// <summary>Reads a tensor's dims into <paramref name="shape"/> (reallocated only when the rank changes).</summary>
        internal static void GetShape(IntPtr value, ref long[] shape)
        {
            IntPtr info;
            Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Table[IndexGetTensorTypeAndShape])(value, &info));
            try
            {
                nuint rank;
                Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[IndexGetDimensionsCount])(info, &rank));
                if (shape.Length != (int)rank)
                {
                    shape = new long[(int)rank];
                }

                fixed (long* dims = shape)
                {
                    Check(((delegate* unmanaged<IntPtr, long*, nuint, IntPtr>)Table[IndexGetDimensions])(info, dims, rank));
                }
            }
            finally
            {
                ((delegate* unmanaged<IntPtr, void>)Table[IndexReleaseTensorTypeAndShapeInfo])(info);
            }
        }

        /// <summary>Fills a string tensor created by <see cref="CreateTensor"/> (ONNX Runtime copies the strings).</summary>
        internal static void FillStringTensor(IntPtr value, ReadOnlySpan<string> strings)
        {
            int count = strings.Length;
            nuint totalBytes = 0;
            foreach (string s in strings)
            {
                totalBytes += (nuint)Encoding.UTF8.GetByteCount(s ?? string.Empty) + 1;
            }

            // One native block: the pointer table, then the zero-terminated UTF-8 strings.
            nuint tableBytes = (nuint)(count * sizeof(IntPtr));
            byte* block = (byte*)NativeMemory.Alloc(tableBytes + totalBytes + 1);
            try
            {
                byte** table = (byte**)block;
                byte* cursor = block + tableBytes;
                for (int i = 0; i < count; i++)
                {
                    string s = strings[i] ?? string.Empty;
                    table[i] = cursor;
                    fixed (char* chars = s)
                    {
                        int written = Encoding.UTF8.GetBytes(chars, s.Length, cursor, (int)totalBytes);
                        cursor += written;
                    }

                    *cursor++ = 0;
                }

                Check(((delegate* unmanaged<IntPtr, byte**, nuint, IntPtr>)Table[IndexFillStringTensor])(value, table, (nuint)count));
            }
            finally
            {
                NativeMemory.Free(block);
            }
        }

        /// <summary>Reads every string of a string tensor.</summary>
        internal static string[] ReadStringTensor(IntPtr value, long count)
        {
            var result = new string[count];
            if (count == 0)
            {
                return result;
            }

            nuint length;
            Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)Table[IndexGetStringTensorDataLength])(value, &length));
            byte* data = (byte*)NativeMemory.Alloc(length + 1);
            nuint* offsets = (nuint*)NativeMemory.Alloc((nuint)count * (nuint)sizeof(nuint));
            try
            {
                Check(((delegate* unmanaged<IntPtr, byte*, nuint, nuint*, nuint, IntPtr>)Table[IndexGetStringTensorContent])(
                    value, data, length, offsets, (nuint)count));
                for (long i = 0; i < count; i++)
                {
                    nuint start = offsets[i];
                    nuint end = i + 1 < count ? offsets[i + 1] : length;
                    result[i] = Encoding.UTF8.GetString(data + start, (int)(end - start));
                }
            }
            finally
            {
                NativeMemory.Free(data);
                NativeMemory.Free(offsets);
            }

            return result;
        }
    }
}
