namespace ModelSdk
{
    /// <summary>
    /// What every generated model class offers as a type, for code that works with any model: its signature,
    /// its default file, and a way to load it (ModelSdk.Hosting registers models this way).
    /// </summary>
    /// <typeparam name="TSelf">The generated model class.</typeparam>
    public interface ICompiledModel<TSelf>
        where TSelf : CompiledModel, ICompiledModel<TSelf>
    {
        /// <summary>The inputs and outputs the class was generated for.</summary>
        static abstract ModelSignature ModelSignature { get; }

        /// <summary>Where the build copies the model, relative to the application's base directory.</summary>
        static abstract string DefaultModelPath { get; }

        /// <summary>Loads the model from a file or bytes and checks it against the class.</summary>
        /// <param name="source">The model file or bytes.</param>
        /// <param name="options">Session options; null for defaults.</param>
        /// <exception cref="ModelLoadException">ONNX Runtime rejected the file, or it does not match the class.</exception>
        static abstract TSelf Load(ModelSource source, ModelOptions? options);
    }
}
