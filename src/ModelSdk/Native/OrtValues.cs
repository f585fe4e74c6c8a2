using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace ModelSdk.Native
{
    /// <summary>
    /// Sequences, maps and optionals between managed objects and ONNX Runtime's values. Inputs become values ONNX Runtime
    /// owns (copies made before the run, so nothing the caller holds is read later); outputs are decoded into managed
    /// objects (<see cref="OnnxTensor{T}"/>, <see cref="OnnxSequence{T}"/>, <see cref="OnnxMap{TKey, TValue}"/>) that
    /// belong to the caller. Generic code per element type goes through <see cref="Dispatch"/>, one switch, no reflection.
    /// </summary>
    internal static unsafe class OrtValues
    {
        /// <summary>A new value ONNX Runtime owns holding <paramref name="value"/>, checked against <paramref name="type"/>; zero for an absent optional.</summary>
        /// <param name="type">The input's declared type.</param>
        /// <param name="value">The caller's object.</param>
        /// <param name="what">Names the input in messages, e.g. <c>input 'x' of model 'M'</c>.</param>
        /// <param name="name">The input's name (the exceptions' parameter name).</param>
        /// <exception cref="ArgumentException">The object does not fit the type: the message names the input, what it got and what it takes.</exception>
        public static IntPtr Create(OnnxType type, object? value, string what, string name)
        {
            if (value is null)
            {
                return type.Kind == OnnxValueKind.Optional
                    ? IntPtr.Zero
                    : throw new ArgumentNullException(name, $"The value of {what} is null; it takes {Describe(type)}.");
            }

            switch (type.Kind)
            {
                case OnnxValueKind.Optional:
                    return Create(type.Element!, value, what, name);
                case OnnxValueKind.Tensor:
                {
                    var create = new CreateTensorFunc { Value = value, What = what, Name = name, Type = type };
                    return Dispatch<IntPtr, CreateTensorFunc>(type.ElementType, ref create);
                }

                case OnnxValueKind.Map:
                {
                    var create = new CreateMapFunc { Value = value, What = what, Name = name, Type = type };
                    return Dispatch<IntPtr, CreateMapFunc>(type.KeyType, ref create);
                }

                case OnnxValueKind.Sequence:
                    return CreateSequence(type, value, what, name);
                default:
                    throw new NotSupportedException($"{what} has type {type}, which ModelSdk can't pass.");
            }
        }

        /// <summary>Decodes a value ONNX Runtime produced for an output of <paramref name="type"/> (null: an absent optional).</summary>
        public static object? Read(OnnxType type, IntPtr value)
        {
            switch (type.Kind)
            {
                case OnnxValueKind.Optional:
                {
                    int has;
                    OrtApi.Check(OrtApi.HasValue(value, &has));
                    return has == 0 ? null : Read(type.Element!, value); // ONNX Runtime hands out an optional as the value it holds
                }

                case OnnxValueKind.Tensor:
                {
                    var read = new ReadTensorFunc { Value = value };
                    return Dispatch<object, ReadTensorFunc>(type.ElementType, ref read);
                }

                case OnnxValueKind.Map:
                {
                    var read = new ReadMapFunc { Value = value, ValueType = type.Element!.ElementType, Sequence = false };
                    return Dispatch<object, ReadMapFunc>(type.KeyType, ref read);
                }

                case OnnxValueKind.Sequence when type.Element!.Kind == OnnxValueKind.Tensor:
                {
                    var read = new ReadTensorSequenceFunc { Value = value };
                    return Dispatch<object, ReadTensorSequenceFunc>(type.Element.ElementType, ref read);
                }

                case OnnxValueKind.Sequence when type.Element!.Kind == OnnxValueKind.Map:
                {
                    var read = new ReadMapFunc { Value = value, ValueType = type.Element.Element!.ElementType, Sequence = true };
                    return Dispatch<object, ReadMapFunc>(type.Element.KeyType, ref read);
                }

                default:
                    throw new NotSupportedException($"ModelSdk can't read values of type {type}.");
            }
        }

        /// <summary>The type an <c>OrtTypeInfo</c> describes, nested as far as it goes.</summary>
        public static OnnxType TypeOf(IntPtr typeInfo)
        {
            int kind;
            OrtApi.Check(OrtApi.GetOnnxTypeFromTypeInfo(typeInfo, &kind));
            switch ((OnnxValueKind)kind)
            {
                case OnnxValueKind.Tensor:
                {
                    IntPtr tensorInfo; // owned by typeInfo
                    OrtApi.Check(OrtApi.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
                    int elementType;
                    OrtApi.Check(OrtApi.GetTensorElementType(tensorInfo, &elementType));
                    return OnnxType.Tensor((OnnxElementType)elementType);
                }

                case OnnxValueKind.Sequence:
                {
                    IntPtr sequenceInfo, element;
                    OrtApi.Check(OrtApi.CastTypeInfoToSequenceTypeInfo(typeInfo, &sequenceInfo));
                    OrtApi.Check(OrtApi.GetSequenceElementType(sequenceInfo, &element));
                    return OnnxType.Sequence(TypeOfReleasing(element));
                }

                case OnnxValueKind.Map:
                {
                    IntPtr mapInfo, valueInfo;
                    int keyType;
                    OrtApi.Check(OrtApi.CastTypeInfoToMapTypeInfo(typeInfo, &mapInfo));
                    OrtApi.Check(OrtApi.GetMapKeyType(mapInfo, &keyType));
                    OrtApi.Check(OrtApi.GetMapValueType(mapInfo, &valueInfo));
                    return OnnxType.Map((OnnxElementType)keyType, TypeOfReleasing(valueInfo));
                }

                case OnnxValueKind.Optional:
                {
                    IntPtr optionalInfo, contained;
                    OrtApi.Check(OrtApi.CastTypeInfoToOptionalTypeInfo(typeInfo, &optionalInfo));
                    OrtApi.Check(OrtApi.GetOptionalContainedTypeInfo(optionalInfo, &contained));
                    return OnnxType.Optional(TypeOfReleasing(contained));
                }

                default:
                    return OnnxType.Other((OnnxValueKind)kind);
            }
        }

        private static OnnxType TypeOfReleasing(IntPtr typeInfo)
        {
            try
            {
                return TypeOf(typeInfo);
            }
            finally
            {
                OrtApi.ReleaseTypeInfo(typeInfo);
            }
        }

        /// <summary>The C# type an input of <paramref name="type"/> takes, for messages.</summary>
        public static string Describe(OnnxType type) => type.Kind switch
        {
            OnnxValueKind.Tensor => "OnnxTensor<" + ClrName(type.ElementType) + ">",
            OnnxValueKind.Sequence => "a list of " + Describe(type.Element!),
            OnnxValueKind.Map => "IReadOnlyDictionary<" + ClrName(type.KeyType) + ", " + ClrName(type.Element!.ElementType) + ">",
            OnnxValueKind.Optional => Describe(type.Element!) + " or null",
            _ => type.ToString(),
        };

        private static string ClrName(OnnxElementType type) => OnnxElementTypes.ClrType(type)?.Name ?? OnnxElementTypes.OnnxName(type);

        private static IntPtr CreateSequence(OnnxType type, object value, string what, string name)
        {
            if (value is not IEnumerable items || value is string)
            {
                throw new ArgumentException($"{what} takes {Describe(type)}, not {value.GetType().Name}.", name);
            }

            var elements = new List<IntPtr>();
            try
            {
                int i = 0;
                foreach (object? item in items)
                {
                    if (item is null)
                    {
                        throw new ArgumentException($"Element {i} of {what} is null; it takes {Describe(type)}.", name);
                    }

                    elements.Add(Create(type.Element!, item, "element " + i + " of " + what, name));
                    i++;
                }

                if (elements.Count == 0)
                {
                    // ONNX Runtime builds a sequence from its elements and can't tell an empty one's element type.
                    throw new ArgumentException($"{what} is an empty sequence; ONNX Runtime takes sequence inputs of at least one element.", name);
                }

                return CreateFrom(elements, OnnxValueKind.Sequence);
            }
            finally
            {
                foreach (IntPtr element in elements)
                {
                    OrtApi.Release(element); // the sequence holds copies
                }
            }
        }

        private static IntPtr CreateFrom(List<IntPtr> parts, OnnxValueKind kind)
        {
            IntPtr[] array = parts.ToArray();
            IntPtr result;
            fixed (IntPtr* p = array)
            {
                OrtApi.Check(OrtApi.CreateValue(p, (nuint)array.Length, (int)kind, &result));
            }

            return result;
        }

        /// <summary>A tensor ONNX Runtime allocates and owns, holding a copy of <paramref name="data"/>.</summary>
        private static IntPtr CreateTensor<T>(T[] data, long[] shape)
        {
            if (typeof(T) == typeof(string))
            {
                return OrtTensors.CreateStrings((string[])(object)data, shape);
            }

            IntPtr value;
            fixed (long* dims = shape)
            {
                OrtApi.Check(OrtApi.CreateTensorAsOrtValue(OrtApi.DefaultAllocator, dims, (nuint)shape.Length, (int)ElementTypeOf<T>.Value, &value));
            }

            ReadOnlySpan<byte> bytes = BytesOf(data);
            if (bytes.Length > 0)
            {
                bytes.CopyTo(new Span<byte>((void*)OrtTensors.DataOf(value), bytes.Length));
            }

            return value;
        }

        // T is an unmanaged element type here (strings took the other path); the generic constraint can't say so.
        private static ReadOnlySpan<byte> BytesOf<T>(T[] data) =>
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetArrayDataReference(data)), data.Length * Unsafe.SizeOf<T>());

        private static OnnxTensor<T> ReadTensor<T>(IntPtr value)
        {
            long[] shape = Array.Empty<long>();
            OrtTensors.ReadShape(value, ref shape);
            long count = 1;
            foreach (long dim in shape)
            {
                count = checked(count * dim);
            }

            return OnnxTensor<T>.Adopt(ReadElements<T>(value, count), shape);
        }

        /// <summary>A tensor's <paramref name="count"/> elements, copied (strings decoded; packed 4-bit types as pairs).</summary>
        private static T[] ReadElements<T>(IntPtr value, long count)
        {
            if (typeof(T) == typeof(string))
            {
                return (T[])(object)OrtTensors.ReadStrings(value, count);
            }

            var data = new T[checked((int)OnnxElementTypes.StorageLength(ElementTypeOf<T>.Value, count))]; // packed 4-bit types: pairs
            if (data.Length > 0)
            {
                new ReadOnlySpan<byte>((void*)OrtTensors.DataOf(value), checked(data.Length * Unsafe.SizeOf<T>())).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetArrayDataReference(data)), data.Length * Unsafe.SizeOf<T>()));
            }

            return data;
        }

        private static int Count(IntPtr value)
        {
            nuint count;
            OrtApi.Check(OrtApi.GetValueCount(value, &count));
            return checked((int)count);
        }

        /// <summary>Element <paramref name="index"/> of a sequence or map (0: keys, 1: values), read by <paramref name="read"/> and released.</summary>
        private static TResult ReadPart<TResult>(IntPtr value, int index, Func<IntPtr, TResult> read)
        {
            IntPtr part;
            OrtApi.Check(OrtApi.GetValue(value, index, OrtApi.DefaultAllocator, &part));
            try
            {
                return read(part);
            }
            finally
            {
                OrtApi.Release(part);
            }
        }

        private static OnnxMap<TKey, TValue> ReadMap<TKey, TValue>(IntPtr map)
        {
            TKey[] keys = ReadPart(map, 0, static part => ReadElements<TKey>(part, OrtTensors.ElementCount(part)));
            TValue[] values = ReadPart(map, 1, static part => ReadElements<TValue>(part, OrtTensors.ElementCount(part)));
            return new OnnxMap<TKey, TValue>(keys, values);
        }

        /// <summary>Something generic over one element type (a struct, so each use compiles to its own code).</summary>
        private interface IElementFunc<TResult>
        {
            TResult Invoke<T>();
        }

        /// <summary>Runs <paramref name="func"/> with the CLR type of <paramref name="type"/>.</summary>
        private static TResult Dispatch<TResult, TFunc>(OnnxElementType type, ref TFunc func)
            where TFunc : struct, IElementFunc<TResult> => type switch
        {
            OnnxElementType.Float => func.Invoke<float>(),
            OnnxElementType.UInt8 => func.Invoke<byte>(),
            OnnxElementType.Int8 => func.Invoke<sbyte>(),
            OnnxElementType.UInt16 => func.Invoke<ushort>(),
            OnnxElementType.Int16 => func.Invoke<short>(),
            OnnxElementType.Int32 => func.Invoke<int>(),
            OnnxElementType.Int64 => func.Invoke<long>(),
            OnnxElementType.String => func.Invoke<string>(),
            OnnxElementType.Bool => func.Invoke<bool>(),
            OnnxElementType.Float16 => func.Invoke<Half>(),
            OnnxElementType.Double => func.Invoke<double>(),
            OnnxElementType.UInt32 => func.Invoke<uint>(),
            OnnxElementType.UInt64 => func.Invoke<ulong>(),
            OnnxElementType.BFloat16 => func.Invoke<BFloat16>(),
            OnnxElementType.Float8E4M3FN => func.Invoke<Float8E4M3FN>(),
            OnnxElementType.Float8E4M3FNUZ => func.Invoke<Float8E4M3FNUZ>(),
            OnnxElementType.Float8E5M2 => func.Invoke<Float8E5M2>(),
            OnnxElementType.Float8E5M2FNUZ => func.Invoke<Float8E5M2FNUZ>(),
            OnnxElementType.UInt4 => func.Invoke<UInt4x2>(),
            OnnxElementType.Int4 => func.Invoke<Int4x2>(),
            OnnxElementType.Float4E2M1 => func.Invoke<Float4E2M1x2>(),
            _ => throw new NotSupportedException($"ModelSdk can't pass {OnnxElementTypes.OnnxName(type)} elements inside sequences, maps or optionals."),
        };

        private struct CreateTensorFunc : IElementFunc<IntPtr>
        {
            public object Value;
            public string What;
            public string Name;
            public OnnxType Type;

            public IntPtr Invoke<T>() => Value is OnnxTensor<T> tensor
                ? CreateTensor(tensor.Elements, tensor.ShapeArray)
                : throw new ArgumentException($"{What} takes {Describe(Type)}, not {Value.GetType().Name}.", Name);
        }

        private struct CreateMapFunc : IElementFunc<IntPtr>
        {
            public object Value;
            public string What;
            public string Name;
            public OnnxType Type;

            public IntPtr Invoke<TKey>()
            {
                var values = new CreateMapValuesFunc<TKey> { Value = Value, What = What, Name = Name, Type = Type };
                return Dispatch<IntPtr, CreateMapValuesFunc<TKey>>(Type.Element!.ElementType, ref values);
            }
        }

        private struct CreateMapValuesFunc<TKey> : IElementFunc<IntPtr>
        {
            public object Value;
            public string What;
            public string Name;
            public OnnxType Type;

            public IntPtr Invoke<TValue>()
            {
                if (Value is not IReadOnlyDictionary<TKey, TValue> map)
                {
                    throw new ArgumentException($"{What} takes {Describe(Type)}, not {Value.GetType().Name}.", Name);
                }

                var keys = new TKey[map.Count];
                var values = new TValue[map.Count];
                int i = 0;
                foreach (KeyValuePair<TKey, TValue> entry in map)
                {
                    if (i == keys.Length)
                    {
                        throw new ArgumentException($"{What} changed while it was read.", Name);
                    }

                    keys[i] = entry.Key;
                    values[i] = entry.Value ?? throw new ArgumentException($"{What} has a null value at key '{entry.Key}'.", Name);
                    i++;
                }

                var parts = new List<IntPtr>(2);
                try
                {
                    long[] shape = { keys.Length };
                    parts.Add(CreateTensor(keys, shape));
                    parts.Add(CreateTensor(values, shape));
                    return CreateFrom(parts, OnnxValueKind.Map);
                }
                finally
                {
                    foreach (IntPtr part in parts)
                    {
                        OrtApi.Release(part); // the map holds copies
                    }
                }
            }
        }

        private struct ReadTensorFunc : IElementFunc<object>
        {
            public IntPtr Value;

            public object Invoke<T>() => ReadTensor<T>(Value);
        }

        private struct ReadTensorSequenceFunc : IElementFunc<object>
        {
            public IntPtr Value;

            public object Invoke<T>()
            {
                var items = new OnnxTensor<T>[Count(Value)];
                for (int i = 0; i < items.Length; i++)
                {
                    items[i] = ReadPart(Value, i, static part => ReadTensor<T>(part));
                }

                return new OnnxSequence<OnnxTensor<T>>(items);
            }
        }

        // A map, or a sequence of maps (a ZipMap): the key type first, then the value type.
        private struct ReadMapFunc : IElementFunc<object>
        {
            public IntPtr Value;
            public OnnxElementType ValueType;
            public bool Sequence;

            public object Invoke<TKey>()
            {
                var read = new ReadMapValuesFunc<TKey> { Value = Value, Sequence = Sequence };
                return Dispatch<object, ReadMapValuesFunc<TKey>>(ValueType, ref read);
            }
        }

        private struct ReadMapValuesFunc<TKey> : IElementFunc<object>
        {
            public IntPtr Value;
            public bool Sequence;

            public object Invoke<TValue>()
            {
                if (!Sequence)
                {
                    return ReadMap<TKey, TValue>(Value);
                }

                var maps = new OnnxMap<TKey, TValue>[Count(Value)];
                for (int i = 0; i < maps.Length; i++)
                {
                    maps[i] = ReadPart(Value, i, static part => ReadMap<TKey, TValue>(part));
                }

                return new OnnxSequence<OnnxMap<TKey, TValue>>(maps);
            }
        }
    }
}
