using System;
using System.Collections.Generic;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.Native;

namespace ModelSdk
{
    /// <summary>
    /// One loaded version of a model: the bytes it came from (their hash), its session options, the session of
    /// the whole model and the copies pruned to some outputs. A reload makes a new version; requests stay bound to
    /// the version they were created for, and a version's native sessions go when its last request does (each
    /// binding holds a reference on its session).
    /// </summary>
    internal sealed class ModelVersion
    {
        private readonly ModelSignature _signature;
        private readonly ModelOptions _options;
        private readonly SessionOptions _sessionOptions;
        private readonly byte[] _hash;
        private readonly Dictionary<ulong, ModelSession> _pruned = new Dictionary<ulong, ModelSession>();
        private bool _retired;

        private ModelVersion(ModelSignature signature, ModelOptions options, ModelSource source, LoadedBytes loaded, int number)
        {
            _signature = signature;
            _options = options;
            Source = source;
            Number = number;
            _hash = loaded.Hash;
            _sessionOptions = options.CreateSessionOptions(source.Folder);
            try
            {
                SessionHandle session = CreateSession(loaded.Bytes);
                try
                {
                    CheckSignature(session);
                }
                catch
                {
                    session.Dispose();
                    throw;
                }

                FullSession = new ModelSession(session);
            }
            catch
            {
                _sessionOptions.Dispose();
                throw;
            }
        }

        /// <summary>Where this version was loaded from.</summary>
        public ModelSource Source { get; }

        /// <summary>1 for the first version of a model, then one more per reload.</summary>
        public int Number { get; }

        /// <summary>The session of the whole model.</summary>
        public ModelSession FullSession { get; }

        /// <summary>
        /// Creates a session from exactly the bytes read from <paramref name="source"/> and checks it against the
        /// class's signature. Throws <see cref="ModelLoadException"/> saying what is wrong.
        /// </summary>
        public static ModelVersion Load(ModelSignature signature, ModelOptions options, ModelSource source, LoadedBytes loaded, int number) =>
            new ModelVersion(signature, options, source, loaded, number);

        /// <summary>True when <paramref name="loaded"/> are the very bytes this version was loaded from.</summary>
        public bool IsSameFile(LoadedBytes loaded) => loaded.Hash.AsSpan().SequenceEqual(_hash);

        /// <summary>
        /// The session to run when only the outputs in <paramref name="mask"/> are wanted: the whole model, or
        /// (<see cref="ModelOptions.PruneUnselectedOutputs"/>) a copy pruned to what those outputs need, made once
        /// per set of outputs from the very bytes that were loaded and checked. ONNX Runtime runs every node
        /// whatever outputs are asked for: only a pruned model saves the work of the others. When the model file
        /// changed since it was loaded, or pruning fails, the whole model is used (right outputs, no saving).
        /// </summary>
        public ModelSession SessionFor(ulong mask)
        {
            ulong everything = 0;
            for (int i = 0; i < _signature.Outputs.Count && i < 64; i++)
            {
                everything |= _signature.Outputs[i].IsSupported ? 1UL << i : 0;
            }

            if (!_options.PruneUnselectedOutputs || _signature.Outputs.Count > 64 || (mask & everything) == everything)
            {
                return FullSession;
            }

            lock (_pruned)
            {
                if (_pruned.TryGetValue(mask, out ModelSession? known))
                {
                    return known;
                }

                ModelSession session = FullSession;
                if (!_retired && Source.ReadAgainIfUnchanged(_hash) is byte[] bytes)
                {
                    try
                    {
                        var keep = new List<string>();
                        for (int i = 0; i < _signature.Outputs.Count; i++)
                        {
                            if ((mask & (1UL << i)) != 0 && !keep.Contains(_signature.Outputs[i].Name))
                            {
                                keep.Add(_signature.Outputs[i].Name);
                            }
                        }

                        session = new ModelSession(CreateSession(ModelPruner.Prune(bytes, keep)));
                    }
                    catch (Exception ex) when (ex is ModelLoadException or InferenceException or Onnx.ModelFormatException)
                    {
                        // Keep running the whole model: the outputs are right, only the saving is lost.
                    }
                }

                if (!_retired)
                {
                    _pruned.Add(mask, session); // (a version retired meanwhile lets this session go with the request using it)
                }

                return session;
            }
        }

        /// <summary>
        /// This version serves no new runs: its sessions are released as soon as no request uses them (requests of
        /// this version that are running finish first).
        /// </summary>
        public void Retire()
        {
            lock (_pruned)
            {
                if (_retired)
                {
                    return;
                }

                _retired = true;
                foreach (ModelSession pruned in _pruned.Values)
                {
                    if (pruned != FullSession)
                    {
                        pruned.Handle.Dispose(); // freed once the last binding on it is
                    }
                }
            }

            FullSession.Handle.Dispose();
            _sessionOptions.Dispose();
        }

        private SessionHandle CreateSession(byte[] bytes)
        {
            try
            {
                return SessionHandle.Create(bytes, _sessionOptions);
            }
            catch (InferenceException ex)
            {
                throw new ModelLoadException($"ONNX Runtime could not load model '{_signature.ModelName}' from {Source}: {ex.Message}", ex);
            }
        }

        /// <summary>Checks that the loaded file has the inputs and outputs the class was generated for.</summary>
        private void CheckSignature(SessionHandle session)
        {
            var problems = new List<string>();
            Compare("input", _signature.Inputs, SessionMetadata.Inputs(session), problems);
            Compare("output", _signature.Outputs, SessionMetadata.Outputs(session), problems);
            if (problems.Count > 0)
            {
                throw new ModelLoadException(
                    $"The model file {Source} does not match model '{_signature.ModelName}' as it was generated at build time: " +
                    string.Join("; ", problems) + ". Rebuild the project with this model file, or load the file the class was generated from.");
            }
        }

        private static void Compare(string kind, IReadOnlyList<TensorInfo> expected, SessionValue[] actual, List<string> problems)
        {
            foreach (TensorInfo info in expected)
            {
                SessionValue? value = Array.Find(actual, v => v.Name == info.Name);
                if (value is null)
                {
                    problems.Add($"{kind} '{info.Name}' is missing");
                    continue;
                }

                if (!info.IsSupported)
                {
                    continue;
                }

                if (!info.IsTensor || value.Kind != OnnxValueKind.Tensor)
                {
                    if (!info.Type.Equals(value.Type))
                    {
                        problems.Add($"{kind} '{info.Name}' has type {value.Type}, expected {info.Type}");
                    }

                    continue;
                }

                OnnxElementType actualType = value.Kind == OnnxValueKind.Tensor ? value.ElementType : OnnxElementType.Undefined;
                if (actualType != info.ElementType)
                {
                    problems.Add($"{kind} '{info.Name}' has element type {OnnxElementTypes.OnnxName(actualType)}, expected {OnnxElementTypes.OnnxName(info.ElementType)}");
                    continue;
                }

                if (kind == "input" && info.HasShape && value.Dims.Length != info.Rank)
                {
                    problems.Add($"{kind} '{info.Name}' has rank {value.Dims.Length}, expected {info.Rank}");
                }
                else if (kind == "input" && info.HasShape)
                {
                    for (int d = 0; d < info.Rank; d++)
                    {
                        if (info.Dims[d].IsFixed && value.Dims[d] >= 0 && value.Dims[d] != info.Dims[d].Value)
                        {
                            problems.Add($"{kind} '{info.Name}' has dimension {d} = {value.Dims[d]}, expected {info.Dims[d].Value}");
                        }
                    }
                }
            }

            foreach (SessionValue value in actual)
            {
                bool declared = false;
                foreach (TensorInfo info in expected)
                {
                    declared |= info.Name == value.Name;
                }

                if (!declared)
                {
                    problems.Add($"the file has an extra {kind} '{value.Name}'");
                }
            }
        }
    }

    /// <summary>A session of the model (the whole one, or pruned to some outputs).</summary>
    internal sealed class ModelSession
    {
        public ModelSession(SessionHandle handle) => Handle = handle;

        public SessionHandle Handle { get; }
    }
}
