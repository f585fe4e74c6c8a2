using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelSdk
{
    /// <summary>
    /// How a dynamic batcher (a generated model's <c>CreateBatcher</c>) groups single-item calls into batched runs,
    /// after Triton's dynamic batcher. Bound from configuration by ModelSdk.Hosting (the model's <c>Batching</c> section).
    /// </summary>
    /// <remarks>
    /// A batch starts as soon as <see cref="MaxBatchSize"/> items wait (or a <see cref="PreferredBatchSizes">preferred
    /// size</see> can be formed), or when the oldest waiting item has waited <see cref="MaxDelay"/>, and a job is free.
    /// With <see cref="MaxDelay"/> zero (the default) a batch takes only what is already waiting: a lone caller waits
    /// for nothing, and batches form by themselves under load, while every job is busy.
    /// </remarks>
    public sealed class BatchingOptions
    {
        /// <summary>Creates the defaults.</summary>
        public BatchingOptions()
        {
        }

        /// <summary>Copies <paramref name="other"/>.</summary>
        public BatchingOptions(BatchingOptions other)
        {
            ArgumentNullException.ThrowIfNull(other);
            MaxBatchSize = other.MaxBatchSize;
            MaxDelay = other.MaxDelay;
            MaxQueueLength = other.MaxQueueLength;
            QueueFullMode = other.QueueFullMode;
            Jobs = other.Jobs;
            foreach (int size in other.PreferredBatchSizes)
            {
                PreferredBatchSizes.Add(size);
            }
        }

        /// <summary>The most items one run takes (the size of the batch dim). Default 32.</summary>
        public int MaxBatchSize { get; set; } = 32;

        /// <summary>
        /// How long the oldest waiting item may wait for others before its batch starts anyway; zero (the default)
        /// adds no wait. Honoured at the resolution of .NET timers (about a millisecond).
        /// </summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.Zero;

        /// <summary>
        /// Batch sizes to form when possible (for models that run fastest at some sizes): when at least the smallest
        /// waits, a batch of the largest one that can be formed starts at once. Empty (the default): any size.
        /// </summary>
        public IList<int> PreferredBatchSizes { get; } = new List<int>();

        /// <summary>The most items that may wait for a batch; further calls are rejected or wait (see <see cref="QueueFullMode"/>). Default 4096.</summary>
        public int MaxQueueLength { get; set; } = 4096;

        /// <summary>What a call does when <see cref="MaxQueueLength"/> items wait. Default <see cref="BatchQueueFullMode.Reject"/>.</summary>
        public BatchQueueFullMode QueueFullMode { get; set; } = BatchQueueFullMode.Reject;

        /// <summary>How many batches may run at once; 0 (the default) picks <see cref="CompiledModel.DefaultJobCount"/>.</summary>
        public int Jobs { get; set; }

        /// <summary>The number of jobs these options give.</summary>
        internal int EffectiveJobs => Jobs == 0 ? CompiledModel.DefaultJobCount : Jobs;

        /// <summary>Checks every setting; the message names the setting, the value and what is allowed.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
        public void Validate()
        {
            if (MaxBatchSize < 1 || MaxBatchSize > 65536)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "BatchingOptions.MaxBatchSize must be between 1 and 65536.");
            }

            if (MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromMinutes(1))
            {
                throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "BatchingOptions.MaxDelay must be between zero and one minute.");
            }

            if (MaxQueueLength < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxQueueLength), MaxQueueLength, "BatchingOptions.MaxQueueLength must be at least 1.");
            }

            if (!Enum.IsDefined(QueueFullMode))
            {
                throw new ArgumentOutOfRangeException(nameof(QueueFullMode), QueueFullMode, "BatchingOptions.QueueFullMode must be Reject or Wait.");
            }

            if (Jobs < 0 || Jobs > 1024)
            {
                throw new ArgumentOutOfRangeException(nameof(Jobs), Jobs, "BatchingOptions.Jobs must be between 0 (one per core) and 1024.");
            }

            foreach (int size in PreferredBatchSizes)
            {
                if (size < 1 || size > MaxBatchSize)
                {
                    throw new ArgumentOutOfRangeException(nameof(PreferredBatchSizes), size,
                        $"Each of BatchingOptions.PreferredBatchSizes must be between 1 and MaxBatchSize ({MaxBatchSize}).");
                }
            }
        }

        /// <summary>The preferred sizes, sorted and distinct.</summary>
        internal int[] SortedPreferredSizes() => PreferredBatchSizes.Distinct().OrderBy(s => s).ToArray();
    }

    /// <summary>What a dynamic batcher does with a call when its queue is full.</summary>
    public enum BatchQueueFullMode
    {
        /// <summary>The call throws <see cref="BatchQueueFullException"/> at once (a service can answer 503 and let the client retry).</summary>
        Reject,

        /// <summary>The call waits (asynchronously, cancellably) until an item leaves the queue.</summary>
        Wait,
    }

    /// <summary>A dynamic batcher's queue was full (<see cref="BatchingOptions.MaxQueueLength"/> items waiting) and it rejects further calls.</summary>
    public sealed class BatchQueueFullException : InvalidOperationException
    {
        /// <summary>Creates the exception.</summary>
        public BatchQueueFullException(string message)
            : base(message)
        {
        }
    }
}
