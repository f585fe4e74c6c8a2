using System;
using System.IO;
using System.Security.Cryptography;

namespace ModelSdk
{
    /// <summary>Where a model comes from: a file or the bytes of one.</summary>
    public sealed class ModelSource
    {
        private readonly string? _path;
        private readonly byte[]? _bytes;

        private ModelSource(string? path, byte[]? bytes)
        {
            _path = path;
            _bytes = bytes;
        }

        /// <summary>The model file's full path, or null for a model loaded from bytes.</summary>
        public string? Path => _path;

        /// <summary>A model file.</summary>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        public static ModelSource FromFile(string path)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            string fullPath = System.IO.Path.GetFullPath(path);
            if (!File.Exists(fullPath))
            {
                throw new FileNotFoundException($"The ONNX model file '{fullPath}' does not exist.", fullPath);
            }

            return new ModelSource(fullPath, null);
        }

        /// <summary>A model file copied next to the application (by the OnnxModel build item).</summary>
        /// <exception cref="FileNotFoundException">The file is not in the application's folder.</exception>
        public static ModelSource FromAppFile(string relativePath)
        {
            ArgumentException.ThrowIfNullOrEmpty(relativePath);
            string fullPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(AppContext.BaseDirectory, relativePath));
            if (!File.Exists(fullPath))
            {
                throw new FileNotFoundException(
                    $"The ONNX model file '{fullPath}' was not found next to the application. The OnnxModel build item copies it there; " +
                    "if you set CopyToOutputDirectory=\"Never\" or moved the file, pass its path to Load(path).", fullPath);
            }

            return new ModelSource(fullPath, null);
        }

        /// <summary>The bytes of an .onnx file.</summary>
        public static ModelSource FromBytes(byte[] model)
        {
            ArgumentNullException.ThrowIfNull(model);
            if (model.Length == 0)
            {
                throw new ArgumentException("The model bytes are empty.", nameof(model));
            }

            return new ModelSource(null, model);
        }

        /// <summary>For messages: the path, or "(N bytes)".</summary>
        public override string ToString() => _path != null ? "'" + _path + "'" : "(model of " + _bytes!.Length + " bytes)";

        /// <summary>The folder external weights are looked up in (the model file's), or null for bytes.</summary>
        internal string? Folder => _path is null ? null : System.IO.Path.GetDirectoryName(_path);

        /// <summary>Reads the model once, to load it from exactly these bytes and remember their hash.</summary>
        internal LoadedBytes Read(string modelName)
        {
            byte[] bytes;
            try
            {
                bytes = _path != null ? File.ReadAllBytes(_path) : _bytes!;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ModelLoadException($"The ONNX model file {this} of model '{modelName}' could not be read: {ex.Message}", ex);
            }

            return new LoadedBytes(bytes, SHA256.HashData(bytes));
        }

        /// <summary>
        /// The bytes again, for a pruned copy of the loaded model: read anew (or the caller's array) and accepted
        /// only when they hash the same as the bytes that were loaded and checked. Null when they changed (the file
        /// was replaced, the caller reused its array) or can't be read.
        /// </summary>
        internal byte[]? ReadAgainIfUnchanged(ReadOnlySpan<byte> loadedHash)
        {
            byte[] bytes;
            try
            {
                bytes = _path != null ? File.ReadAllBytes(_path) : (byte[])_bytes!.Clone();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }

            return SHA256.HashData(bytes).AsSpan().SequenceEqual(loadedHash) ? bytes : null;
        }
    }

    /// <summary>The bytes a model was loaded from, and their SHA-256.</summary>
    internal readonly struct LoadedBytes
    {
        public LoadedBytes(byte[] bytes, byte[] hash)
        {
            Bytes = bytes;
            Hash = hash;
        }

        public byte[] Bytes { get; }

        public byte[] Hash { get; }
    }
}
