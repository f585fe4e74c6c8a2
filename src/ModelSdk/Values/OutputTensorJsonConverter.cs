using System;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk
{
    /// <summary>
    /// Writes an <see cref="OutputTensor{T}"/> as JSON: nested arrays following its shape (a scalar as a
    /// single value), the way numpy's <c>tolist()</c> does. The data is copied (checked against its run)
    /// before it is written, so a serializer that reads slowly never sees two runs mixed. Reading JSON back
    /// into an output view is not supported.
    /// </summary>
    internal sealed class OutputTensorJsonConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) =>
            typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(OutputTensor<>);

        // One branch per element type rather than MakeGenericType: trimming and Native AOT keep every converter.
        public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options)
        {
            Type element = typeToConvert.GetGenericArguments()[0];
            return element == typeof(float) ? new OutputTensorJsonConverter<float>()
                : element == typeof(double) ? new OutputTensorJsonConverter<double>()
                : element == typeof(Half) ? new OutputTensorJsonConverter<Half>()
                : element == typeof(BFloat16) ? new OutputTensorJsonConverter<BFloat16>()
                : element == typeof(sbyte) ? new OutputTensorJsonConverter<sbyte>()
                : element == typeof(byte) ? new OutputTensorJsonConverter<byte>()
                : element == typeof(short) ? new OutputTensorJsonConverter<short>()
                : element == typeof(ushort) ? new OutputTensorJsonConverter<ushort>()
                : element == typeof(int) ? new OutputTensorJsonConverter<int>()
                : element == typeof(uint) ? new OutputTensorJsonConverter<uint>()
                : element == typeof(long) ? new OutputTensorJsonConverter<long>()
                : element == typeof(ulong) ? new OutputTensorJsonConverter<ulong>()
                : element == typeof(bool) ? new OutputTensorJsonConverter<bool>()
                : element == typeof(string) ? new OutputTensorJsonConverter<string>()
                : element == typeof(Float8E4M3FN) ? new OutputTensorJsonConverter<Float8E4M3FN>()
                : element == typeof(Float8E4M3FNUZ) ? new OutputTensorJsonConverter<Float8E4M3FNUZ>()
                : element == typeof(Float8E5M2) ? new OutputTensorJsonConverter<Float8E5M2>()
                : element == typeof(Float8E5M2FNUZ) ? new OutputTensorJsonConverter<Float8E5M2FNUZ>()
                : element == typeof(Int4x2) ? new OutputTensorJsonConverter<Int4x2>()
                : element == typeof(UInt4x2) ? new OutputTensorJsonConverter<UInt4x2>()
                : element == typeof(Float4E2M1x2) ? new OutputTensorJsonConverter<Float4E2M1x2>()
                : throw new NotSupportedException($"OutputTensor<{element.Name}> has no JSON form: {element.Name} is not an ONNX element type.");
        }
    }

    internal sealed class OutputTensorJsonConverter<T> : JsonConverter<OutputTensor<T>>
    {
        public override OutputTensor<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("An output view can't be read from JSON: it is a view of a model's run. Deserialize into an array instead.");

        public override void Write(Utf8JsonWriter writer, OutputTensor<T> value, JsonSerializerOptions options)
        {
            long[] shape = value.Shape.ToArray();
            T[] data = value.ToArray(); // checked before and after: one run's data
            int next = 0;
            WriteLevel(writer, data, shape, 0, ref next, options);
        }

        private static void WriteLevel(Utf8JsonWriter writer, T[] data, long[] shape, int dim, ref int next, JsonSerializerOptions options)
        {
            if (dim == shape.Length)
            {
                WriteElementAt(writer, data, next++, options);
                return;
            }

            writer.WriteStartArray();
            for (long i = 0; i < shape[dim]; i++)
            {
                WriteLevel(writer, data, shape, dim + 1, ref next, options);
            }

            writer.WriteEndArray();
        }

        // Packed 4-bit data holds two elements per value: element i is a nibble of value i / 2.
        private static void WriteElementAt(Utf8JsonWriter writer, T[] data, int index, JsonSerializerOptions options)
        {
            switch (data)
            {
                case Int4x2[] pairs: writer.WriteNumberValue((index & 1) == 0 ? pairs[index / 2].Low : pairs[index / 2].High); break;
                case UInt4x2[] pairs: writer.WriteNumberValue((index & 1) == 0 ? pairs[index / 2].Low : pairs[index / 2].High); break;
                case Float4E2M1x2[] pairs: WriteFloating(writer, (index & 1) == 0 ? pairs[index / 2].Low : pairs[index / 2].High, options); break;
                default: WriteElement(writer, data[index], options); break;
            }
        }

        private static void WriteElement(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            switch (value)
            {
                case float f: WriteFloating(writer, f, options); break;
                case double d: WriteFloating(writer, d, options); break;
                case Half h: WriteFloating(writer, (double)h, options); break;
                case BFloat16 b: WriteFloating(writer, (float)b, options); break;
                case Float8E4M3FN f8: WriteFloating(writer, (float)f8, options); break;
                case Float8E4M3FNUZ f8: WriteFloating(writer, (float)f8, options); break;
                case Float8E5M2 f8: WriteFloating(writer, (float)f8, options); break;
                case Float8E5M2FNUZ f8: WriteFloating(writer, (float)f8, options); break;
                case sbyte v: writer.WriteNumberValue(v); break;
                case byte v: writer.WriteNumberValue(v); break;
                case short v: writer.WriteNumberValue(v); break;
                case ushort v: writer.WriteNumberValue(v); break;
                case int v: writer.WriteNumberValue(v); break;
                case uint v: writer.WriteNumberValue(v); break;
                case long v: writer.WriteNumberValue(v); break;
                case ulong v: writer.WriteNumberValue(v); break;
                case bool v: writer.WriteBooleanValue(v); break;
                case string s: writer.WriteStringValue(s); break;
                default: writer.WriteNullValue(); break;
            }
        }

        private static void WriteFloating(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value))
            {
                writer.WriteNumberValue(value);
            }
            else if ((options.NumberHandling & JsonNumberHandling.AllowNamedFloatingPointLiterals) != 0)
            {
                writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            }
            else
            {
                throw new JsonException($"An output holds {value}, which JSON numbers can't express; " +
                                        "set JsonSerializerOptions.NumberHandling to AllowNamedFloatingPointLiterals to write it as a string.");
            }
        }

        private static void WriteFloating(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            if (float.IsFinite(value))
            {
                writer.WriteNumberValue(value); // float keeps its shortest round-trip text (0.1f is 0.1, not 0.10000000149)
            }
            else
            {
                WriteFloating(writer, (double)value, options);
            }
        }
    }
}
