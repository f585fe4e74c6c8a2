using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelSdk.Native
{
    /// <summary>
    /// The tensor and binding calls of a run, on raw handles the caller keeps alive. The ones that make a normal
    /// native transition (strings) are not inlined: a method with an inlined transition sets up a P/Invoke frame
    /// on every call, taken or not, and only the run itself should pay for one.
    /// </summary>
    internal static unsafe class OrtTensors
    {
        /// <summary>A tensor over memory the caller owns and keeps pinned while ONNX Runtime may touch it.</summary>
        internal static IntPtr WrapMemory(IntPtr data, long byteLength, ReadOnlySpan<long> shape, OnnxElementType type)
        {
            IntPtr value;
            fixed (long* dims = shape)
            {
                OrtApi.Check(OrtApi.CreateTensorWithDataAsOrtValue(OrtApi.CpuMemoryInfo, data, (nuint)byteLength, dims, (nuint)shape.Length, (int)type, &value));
            }

            return value;
        }

        /// <summary>
        /// Binds memory the caller keeps pinned while it is bound (a caller's input, a managed output buffer) to an
        /// input or an output; the binding keeps its own reference to the tensor, ours is released.
        /// </summary>
        internal static void BindMemory(IntPtr binding, byte[] nameUtf8, bool output, IntPtr data, long byteLength, ReadOnlySpan<long> shape, OnnxElementType type)
        {
            IntPtr value;
            IntPtr status;
            fixed (long* dims = shape)
            {
                OrtApi.Check(OrtApi.CreateTensorWithDataAsOrtValue(OrtApi.CpuMemoryInfo, data, (nuint)byteLength, dims, (nuint)shape.Length, (int)type, &value));
            }

            fixed (byte* name = nameUtf8)
            {
                status = output ? OrtApi.BindOutput(binding, name, value) : OrtApi.BindInput(binding, name, value);
            }

            OrtApi.ReleaseValue(value); // before the status check: no try block, so the calls stay inlined
            OrtApi.Check(status);
        }

        /// <summary>A string tensor holding copies of <paramref name="strings"/> (ONNX Runtime owns its memory).</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static IntPtr CreateStrings(ReadOnlySpan<string> strings, ReadOnlySpan<long> shape)
        {
            IntPtr value;
            fixed (long* dims = shape)
            {
                OrtApi.Check(OrtApi.CreateTensorAsOrtValue(OrtApi.DefaultAllocator, dims, (nuint)shape.Length, (int)OnnxElementType.String, &value));
            }

            try
            {
                FillStrings(value, strings);
                return value;
            }
            catch
            {
                OrtApi.ReleaseValue(value);
                throw;
            }
        }

        private static void FillStrings(IntPtr value, ReadOnlySpan<string> strings)
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
                byte* end = cursor + totalBytes;
                for (int i = 0; i < count; i++)
                {
                    string s = strings[i] ?? string.Empty;
                    table[i] = cursor;
                    fixed (char* chars = s)
                    {
                        cursor += Encoding.UTF8.GetBytes(chars, s.Length, cursor, (int)(end - cursor));
                    }

                    *cursor++ = 0;
                }

                OrtApi.Check(OrtApi.FillStringTensor(value, table, (nuint)count));
            }
            finally
            {
                NativeMemory.Free(block);
            }
        }

        /// <summary>Reads every string of a string tensor.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static string[] ReadStrings(IntPtr value, long count)
        {
            var result = new string[count];
            if (count == 0)
            {
                return result;
            }

            nuint length;
            OrtApi.Check(OrtApi.GetStringTensorDataLength(value, &length));
            byte* data = (byte*)NativeMemory.Alloc(length + 1);
            nuint* offsets = (nuint*)NativeMemory.Alloc((nuint)count * (nuint)sizeof(nuint));
            try
            {
                OrtApi.Check(OrtApi.GetStringTensorContent(value, data, length, offsets, (nuint)count));
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

        /// <summary>Reads a tensor's dims into <paramref name="shape"/> (reallocated only when the rank changes).</summary>
        internal static void ReadShape(IntPtr value, ref long[] shape)
        {
            IntPtr info;
            OrtApi.Check(OrtApi.GetTensorTypeAndShape(value, &info));
            try
            {
                nuint rank;
                OrtApi.Check(OrtApi.GetDimensionsCount(info, &rank));
                if (shape.Length != (int)rank)
                {
                    shape = new long[(int)rank];
                }

                fixed (long* dims = shape)
                {
                    OrtApi.Check(OrtApi.GetDimensions(info, dims, rank));
                }
            }
            finally
            {
                OrtApi.ReleaseTensorTypeAndShapeInfo(info);
            }
        }

        /// <summary>A tensor's element count (its dims read onto the stack: no allocation).</summary>
        internal static long ElementCount(IntPtr value)
        {
            IntPtr info;
            OrtApi.Check(OrtApi.GetTensorTypeAndShape(value, &info));
            try
            {
                nuint rank;
                OrtApi.Check(OrtApi.GetDimensionsCount(info, &rank));
                Span<long> dims = rank <= 16 ? stackalloc long[(int)rank] : new long[(int)rank];
                fixed (long* p = dims)
                {
                    OrtApi.Check(OrtApi.GetDimensions(info, p, rank));
                }

                long count = 1;
                foreach (long dim in dims)
                {
                    count = checked(count * dim);
                }

                return count;
            }
            finally
            {
                OrtApi.ReleaseTensorTypeAndShapeInfo(info);
            }
        }

        internal static IntPtr DataOf(IntPtr value)
        {
            IntPtr data;
            OrtApi.Check(OrtApi.GetTensorMutableData(value, &data));
            return data;
        }

        internal static void BindInput(IntPtr binding, byte[] nameUtf8, IntPtr value)
        {
            fixed (byte* name = nameUtf8)
            {
                OrtApi.Check(OrtApi.BindInput(binding, name, value));
            }
        }

        internal static void BindOutput(IntPtr binding, byte[] nameUtf8, IntPtr value)
        {
            fixed (byte* name = nameUtf8)
            {
                OrtApi.Check(OrtApi.BindOutput(binding, name, value));
            }
        }

        /// <summary>Lets ONNX Runtime allocate the output (its shape is only known after the run).</summary>
        internal static void BindOutputToCpu(IntPtr binding, byte[] nameUtf8)
        {
            fixed (byte* name = nameUtf8)
            {
                OrtApi.Check(OrtApi.BindOutputToDevice(binding, name, OrtApi.CpuMemoryInfo));
            }
        }

        /// <summary>The bound outputs after a run, in binding order; each value must be released, the array freed (<see cref="OrtApi.Free"/>).</summary>
        internal static IntPtr* BoundOutputs(IntPtr binding, out int count)
        {
            IntPtr* values;
            nuint n;
            OrtApi.Check(OrtApi.GetBoundOutputValues(binding, OrtApi.DefaultAllocator, &values, &n));
            count = (int)n;
            return values;
        }

        /// <summary>Sets a session config entry (UTF-8 key and value).</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static void AddConfigEntry(Microsoft.ML.OnnxRuntime.SessionOptions options, string key, string value)
        {
            byte[] k = Utf8Z(key);
            byte[] v = Utf8Z(value);
            bool added = false;
            options.DangerousAddRef(ref added);
            try
            {
                fixed (byte* pk = k, pv = v)
                {
                    OrtApi.Check(OrtApi.AddSessionConfigEntry(options.DangerousGetHandle(), pk, pv));
                }
            }
            finally
            {
                if (added)
                {
                    options.DangerousRelease();
                }
            }
        }

        /// <summary>A zero-terminated UTF-8 copy of <paramref name="text"/>, encoded once for repeated native calls.</summary>
        internal static byte[] Utf8Z(string text)
        {
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }
    }
}
