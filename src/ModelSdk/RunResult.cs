using System;

namespace ModelSdk
{
    /// <summary>
    /// What a generated <c>Result</c> holds of one run: the request, the run it came from (so that a view read
    /// after the next run throws instead of returning other data) and, for a <c>RunAsync</c> result, the lease
    /// that lends the request until <see cref="Dispose"/>.
    /// </summary>
    public readonly struct RunResult : IDisposable
    {
        private readonly InferRequest _request;
        private readonly long _version;
        private readonly object? _lease;

        /// <summary>Captures the last run of <paramref name="request"/>.</summary>
        /// <param name="request">The request that just ran.</param>
        public RunResult(InferRequest request)
        {
            _request = request;
            _version = request.Version;
            _lease = request.TakeLease();
        }

        /// <summary>A typed view of an output of this run.</summary>
        /// <typeparam name="T">The output's element type.</typeparam>
        /// <param name="index">The output's index (graph order).</param>
        public OutputTensor<T> GetOutput<T>(int index) => _request.GetOutput<T>(index, _version);

        /// <summary>Gives the request back when this result came from <c>RunAsync</c> (its views then become invalid); no effect otherwise.</summary>
        public void Dispose() => _request?.ReleaseLease(_lease);
    }
}
