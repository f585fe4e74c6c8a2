using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelSdk
{
    /// <summary>
    /// A model loaded into ONNX Runtime and compiled once; the base of every generated model class.
    /// <c>Run</c> on a generated class uses one reusable request per thread, so concurrent callers
    /// never share buffers and repeated runs allocate nothing.
    /// </summary>
    public abstract class CompiledModel : IDisposable
    {
        private readonly SessionOptions _sessionOptions;
        private readonly ThreadLocal<InferRequest> _threadRequests;
        private readonly HashSet<InferRequest> _requests = new HashSet<InferRequest>();
        private int _activeRuns;
        private volatile bool _disposed;

        /// <summary>Loads the model and checks that the file matches <paramref name="signature"/>.</summary>
        /// <param name="source">The model file or bytes.</param>
        /// <param name="signature">The inputs and outputs the caller was built for.</param>
        /// <param name="options">Session options; null for defaults.</param>
        protected CompiledModel(ModelSource source, ModelSignature signature, ModelOptions? options)
        {
            ArgumentNullException.ThrowIfNull(source);
            ArgumentNullException.ThrowIfNull(signature);
            Signature = signature;
            Source = source;
            _sessionOptions = (options ?? new ModelOptions()).CreateSessionOptions();
            try
            {
                Session = source.CreateSession(_sessionOptions, signature.ModelName);
                try
                {
                    CheckSignature(Session, signature, source);
                }
                catch
                {
                    Session.Dispose();
                    throw;
                }
            }
            catch
            {
                _sessionOptions.Dispose();
                throw;
            }

            _threadRequests = new ThreadLocal<InferRequest>(CreateRequest, trackAllValues: false);
        }

        /// <summary>The model's inputs and outputs.</summary>
        public ModelSignature Signature { get; }

        /// <summary>Where the model was loaded from.</summary>
        public ModelSource Source { get; }

        /// <summary>The ONNX Runtime session, for settings ModelSdk does not cover.</summary>
        public InferenceSession Session { get; }

        /// <summary>Creates a request of your own: its outputs stay valid until you run it again.</summary>
        public InferRequest CreateRequest()
        {
            ThrowIfDisposed();
            var request = new InferRequest(this);
            lock (_requests)
            {
                if (_disposed)
                {
                    request.DisposeCore();
                    ThrowIfDisposed();
                }

                _requests.Add(request);
            }

            return request;
        }

        /// <summary>The calling thread's reusable request (created on first use).</summary>
        protected InferRequest CurrentThreadRequest()
        {
            ThrowIfDisposed();
            InferRequest request = _threadRequests.Value!;
            return request;
        }

        internal void Forget(InferRequest request)
        {
            lock (_requests)
            {
                _requests.Remove(request);
            }
        }

        /// <summary>Counts a run in; a model being disposed admits none.</summary>
        internal void EnterRun()
        {
            Interlocked.Increment(ref _activeRuns);
            if (_disposed)
            {
                Interlocked.Decrement(ref _activeRuns);
                ThrowIfDisposed();
            }
        }

        internal void ExitRun() => Interlocked.Decrement(ref _activeRuns);

        /// <summary>
        /// Releases the session and every request. Runs in progress on other threads are allowed to
        /// finish first (native memory is never freed under a running inference).
        /// </summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            var wait = new SpinWait();
            while (Volatile.Read(ref _activeRuns) > 0)
            {
                wait.SpinOnce();
            }

            InferRequest[] requests;
            lock (_requests)
            {
                requests = _requests.ToArray();
                _requests.Clear();
            }

            foreach (InferRequest request in requests)
            {
                request.DisposeCore();
            }

            _threadRequests.Dispose();
            Session.Dispose();
            _sessionOptions.Dispose();
            GC.SuppressFinalize(this);
        }

        /// <summary>Throws <see cref="ObjectDisposedException"/> once the model is disposed.</summary>
        protected void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(GetType().Name, $"Model '{Signature.ModelName}' was disposed.");
            }
        }

        /// <summary>Checks that the loaded file has the inputs and outputs the class was generated for.</summary>
        private static void CheckSignature(InferenceSession session, ModelSignature expected, ModelSource source)
        {
            var problems = new List<string>();
            Compare("input", expected.Inputs, session.InputMetadata, problems);
            Compare("output", expected.Outputs, session.OutputMetadata, problems);
            if (problems.Count > 0)
            {
                throw new ModelLoadException(
                    $"The model file {source} does not match model '{expected.ModelName}' as it was generated at build time: " +
                    string.Join("; ", problems) + ". Rebuild the project with this model file, or load the file the class was generated from.");
            }
        }

        private static void Compare(string kind, IReadOnlyList<TensorInfo> expected, IReadOnlyDictionary<string, NodeMetadata> actual, List<string> problems)
        {
            foreach (TensorInfo info in expected)
            {
                if (!actual.TryGetValue(info.Name, out NodeMetadata? metadata))
                {
                    problems.Add($"{kind} '{info.Name}' is missing");
                    continue;
                }

                if (!info.IsSupported)
                {
                    continue;
                }

                OnnxElementType actualType = metadata.IsTensor ? (OnnxElementType)(int)metadata.ElementDataType : OnnxElementType.Undefined;
                if (actualType != info.ElementType)
                {
                    problems.Add($"{kind} '{info.Name}' has element type {OnnxElementTypes.OnnxName(actualType)}, expected {OnnxElementTypes.OnnxName(info.ElementType)}");
                    continue;
                }

                if (kind == "input" && info.HasShape && metadata.Dimensions.Length == info.Rank)
                {
                    for (int d = 0; d < info.Rank; d++)
                    {
                        if (info.Dims[d].IsFixed && metadata.Dimensions[d] >= 0 && metadata.Dimensions[d] != info.Dims[d].Value)
                        {
                            problems.Add($"{kind} '{info.Name}' has dimension {d} = {metadata.Dimensions[d]}, expected {info.Dims[d].Value}");
                        }
                    }
                }
                else if (kind == "input" && info.HasShape && metadata.Dimensions.Length != info.Rank)
                {
                    problems.Add($"{kind} '{info.Name}' has rank {metadata.Dimensions.Length}, expected {info.Rank}");
                }
            }

            foreach (string name in actual.Keys)
            {
                if (!expected.Any(i => i.Name == name))
                {
                    problems.Add($"the file has an extra {kind} '{name}'");
                }
            }
        }
    }
}
