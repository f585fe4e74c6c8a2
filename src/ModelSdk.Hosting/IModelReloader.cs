using System;
using System.Threading;
using System.Threading.Tasks;

namespace ModelSdk.Hosting
{
    /// <summary>
    /// Reloads a served model on demand (an admin endpoint, a message saying a new version was published), the way
    /// watching the file does: the new file is loaded and checked against the class, then swapped in atomically.
    /// Runs in flight finish on the old version; a file that fails keeps the old version serving.
    /// </summary>
    /// <typeparam name="TModel">The generated model class.</typeparam>
    public interface IModelReloader<TModel>
        where TModel : CompiledModel, ICompiledModel<TModel>
    {
        /// <summary>Reads the configured file again and swaps it in if it changed. Reloads of one model run one at a time.</summary>
        /// <param name="cancellationToken">Stops waiting for a reload already in progress (a load that started is not interrupted).</param>
        /// <returns>What happened; a failure is reported here (and logged), not thrown.</returns>
        Task<ModelReloadResult> ReloadAsync(CancellationToken cancellationToken = default);
    }

    /// <summary>What a reload did.</summary>
    public enum ModelReloadOutcome
    {
        /// <summary>A new version is serving.</summary>
        Reloaded,

        /// <summary>The file holds the bytes already serving: nothing was swapped.</summary>
        Unchanged,

        /// <summary>The file could not be loaded or does not match the class; the previous version (if any) keeps serving.</summary>
        Failed,
    }

    /// <summary>The result of a reload.</summary>
    public sealed class ModelReloadResult
    {
        internal ModelReloadResult(ModelReloadOutcome outcome, int version, Exception? error)
        {
            Outcome = outcome;
            Version = version;
            Error = error;
        }

        /// <summary>What the reload did.</summary>
        public ModelReloadOutcome Outcome { get; }

        /// <summary>The version serving after the reload (1 for the first file loaded; 0 when none is).</summary>
        public int Version { get; }

        /// <summary>Why the reload failed, when it did.</summary>
        public Exception? Error { get; }

        /// <inheritdoc/>
        public override string ToString() => Outcome + " (version " + Version + ")" + (Error is null ? string.Empty : ": " + Error.Message);
    }
}
