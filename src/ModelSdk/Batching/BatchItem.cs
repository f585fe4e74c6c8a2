using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace ModelSdk
{
    /// <summary>
    /// One call of a dynamic batcher's <c>RunAsync</c> while it waits for its batch: its inputs (the caller's
    /// memory, read when the batch is gathered), its result-to-be and its cancellation. Generated code creates it
    /// with <see cref="ModelBatcher.NewItem"/> and hands it back to the batcher; it has no public members.
    /// </summary>
    public sealed class BatchItem
    {
        internal const int Pending = 0, Taken = 1, Done = 2, Cancelled = 3;

        internal readonly ModelBatcher Owner;
        internal readonly ItemInput[] Inputs;
        internal IBatchedResult? Result;
        internal long EnqueuedAt;
        internal int State;
        internal CancellationToken Token;
        private CancellationTokenRegistration _registration;

        internal BatchItem(ModelBatcher owner, int inputs)
        {
            Owner = owner;
            Inputs = new ItemInput[inputs];
        }

        /// <summary>True once every input was given (an input set holds its array, even an empty one).</summary>
        internal bool HasEveryInput => Array.TrueForAll(Inputs, static input => input.Array != null);

        /// <summary>Moves the item on from <paramref name="from"/>; false when it already moved (taken, done or cancelled).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal bool TryMove(int from, int to) => Interlocked.CompareExchange(ref State, to, from) == from;

        /// <summary>Listens for the caller's cancellation (after the item is queued; it may be done already).</summary>
        internal void Register(CancellationToken token)
        {
            Token = token;
            _registration = token.UnsafeRegister(static s => ((BatchItem)s!).Owner.OnItemCancelled((BatchItem)s), this);
            Interlocked.MemoryBarrier(); // pairs with the CAS that ends the item: either it sees the registration, or this sees the item done
            if (Volatile.Read(ref State) >= Done)
            {
                _registration.Unregister();
            }
        }

        /// <summary>Stops listening for cancellation (the item is done); never waits for a callback in progress.</summary>
        internal void Unregister() => _registration.Unregister();
    }

    /// <summary>An item's input: the caller's array (kept, not pinned) and where its elements are, in bytes.</summary>
    internal struct ItemInput
    {
        public Array? Array;
        public int ByteOffset;
        public int ByteLength;

        public static ItemInput From<T>(ReadOnlyMemory<T> data)
            where T : unmanaged
        {
            if (!MemoryMarshal.TryGetArray(data, out ArraySegment<T> segment))
            {
                segment = new ArraySegment<T>(data.ToArray()); // memory that is not an array (native, pooled managers): one copy now
            }

            return new ItemInput
            {
                Array = segment.Array,
                ByteOffset = segment.Offset * Unsafe.SizeOf<T>(),
                ByteLength = segment.Count * Unsafe.SizeOf<T>(),
            };
        }

        /// <summary>Copies the elements into the batch buffer.</summary>
        public readonly void CopyTo(Span<byte> destination) =>
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Array!), ByteOffset), ByteLength).CopyTo(destination);
    }

    /// <summary>How a batcher hands an item its outputs or its error (implemented by owned results).</summary>
    internal interface IBatchedResult
    {
        /// <summary>Gives the result its outputs; the awaiting code continues on this thread when <paramref name="inline"/>.</summary>
        void Complete(OutputSet outputs, bool inline);

        /// <summary>Ends the call with <paramref name="error"/>; the awaiting code continues on the thread pool.</summary>
        void Fail(Exception error);
    }
}
