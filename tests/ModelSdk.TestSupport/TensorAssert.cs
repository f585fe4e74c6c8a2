using System;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk.TestSupport
{
    /// <summary>Compares an actual output with an expected tensor, with ONNX's backend-test tolerances by default.</summary>
    public static class TensorAssert
    {
        /// <summary>Returns null when equal within tolerance, else a description of the first mismatches.</summary>
        public static string? Compare(TestTensor expected, OutputValue actual, double rtol = 1e-3, double atol = 1e-7)
        {
            if (actual.ElementType != expected.ElementType)
            {
                return $"element type {actual.ElementType}, expected {expected.ElementType}";
            }

            long[] shape = actual.Shape.ToArray();
            if (!shape.AsSpan().SequenceEqual(expected.Dims))
            {
                return $"shape [{string.Join(", ", shape)}], expected [{string.Join(", ", expected.Dims)}]";
            }

            if (expected.ElementType == OnnxElementType.String)
            {
                ReadOnlySpan<string> strings = actual.Strings;
                for (int i = 0; i < strings.Length; i++)
                {
                    if (strings[i] != expected.Strings![i])
                    {
                        return $"element {i} is \"{strings[i]}\", expected \"{expected.Strings[i]}\"";
                    }
                }

                return null;
            }

            return CompareBytes(expected.ElementType, expected.Bytes, actual.Bytes, rtol, atol);
        }

        public static string? CompareBytes(OnnxElementType type, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, double rtol, double atol)
        {
            if (expected.Length != actual.Length)
            {
                return $"{actual.Length} bytes, expected {expected.Length}";
            }

            return type switch
            {
                OnnxElementType.Float => Close(MemoryMarshal.Cast<byte, float>(expected), MemoryMarshal.Cast<byte, float>(actual), x => x, rtol, atol),
                OnnxElementType.Double => Close(MemoryMarshal.Cast<byte, double>(expected), MemoryMarshal.Cast<byte, double>(actual), x => x, rtol, atol),
                OnnxElementType.Float16 => Close(MemoryMarshal.Cast<byte, Half>(expected), MemoryMarshal.Cast<byte, Half>(actual), x => (double)x, rtol, atol),
                OnnxElementType.BFloat16 => Close(MemoryMarshal.Cast<byte, BFloat16>(expected), MemoryMarshal.Cast<byte, BFloat16>(actual), x => (double)(float)x, rtol, atol),
                _ => expected.SequenceEqual(actual) ? null : FirstByteDifference(expected, actual, OnnxElementTypes.SizeOf(type)),
            };
        }

        private static string? Close<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, Func<T, double> toDouble, double rtol, double atol)
        {
            var problems = new StringBuilder();
            int bad = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double e = toDouble(expected[i]), a = toDouble(actual[i]);
                bool ok = double.IsNaN(e) ? double.IsNaN(a) : double.IsInfinity(e) ? e == a : Math.Abs(a - e) <= atol + (rtol * Math.Abs(e));
                if (!ok && bad++ < 5)
                {
                    problems.Append($"[{i}] {a} vs expected {e}; ");
                }
            }

            return bad == 0 ? null : $"{bad} of {expected.Length} elements differ: {problems}";
        }

        private static string FirstByteDifference(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int size)
        {
            for (int i = 0; i < expected.Length; i++)
            {
                if (expected[i] != actual[i])
                {
                    int element = i / Math.Max(1, size);
                    return $"element {element} differs (bytes {Convert.ToHexString(actual.Slice(element * size, size))} vs expected {Convert.ToHexString(expected.Slice(element * size, size))})";
                }
            }

            return "equal";
        }
    }
}
