using System;
using System.IO;
using Microsoft.ML.OnnxRuntime;

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

        /// <summary>The model's bytes (read again from the file each time).</summary>
        internal byte[] ReadBytes() => _path != null ? File.ReadAllBytes(_path) : _bytes!;

        internal InferenceSession CreateSession(SessionOptions options, string modelName)
        {
            try
            {
                return _path != null ? new InferenceSession(_path, options) : new InferenceSession(_bytes!, options);
            }
            catch (OnnxRuntimeException ex)
            {
                if (_path != null && !File.Exists(_path))
                {
                    throw new FileNotFoundException($"The ONNX model file '{_path}' of model '{modelName}' disappeared before it could be loaded.", _path, ex);
                }

                throw new ModelLoadException($"ONNX Runtime could not load model '{modelName}' from {this}: {ex.Message}", ex);
            }
        }
    }
}
