using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using ModelSdk.Generators.Model;

namespace ModelSdk.Generators
{
    internal static class DiagnosticIds
    {
        public const string InvalidModel = "MSDK0001";
        public const string ModelNotFound = "MSDK0002";
        public const string UnsupportedType = "MSDK0003";
        public const string DuplicateClassName = "MSDK0004";
        public const string InvalidClassName = "MSDK0005";
        public const string InvalidNamespace = "MSDK0006";
        public const string ViewEscapesToDelegate = "MSDK0007";
        public const string NotBatchable = "MSDK0008";
        public const string UnmatchedRename = "MSDK0010";
        public const string NoClassifier = "MSDK0011";
    }

    /// <summary>The diagnostics the generator reports; ids are listed in AnalyzerReleases.Shipped.md.</summary>
    internal static class Diagnostics
    {
        private const string Category = "ModelSdk";

        public static readonly DiagnosticDescriptor InvalidModel = new DiagnosticDescriptor(
            DiagnosticIds.InvalidModel,
            "The ONNX model file could not be read",
            "The ONNX model file '{0}' could not be read: {1}",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true,
            description: "The file is empty, truncated, corrupt or not an ONNX model. No class was generated for it.");

        public static readonly DiagnosticDescriptor ModelNotFound = new DiagnosticDescriptor(
            DiagnosticIds.ModelNotFound,
            "The ONNX model file was not found",
            "The ONNX model file '{0}' was not found",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor UnsupportedType = new DiagnosticDescriptor(
            DiagnosticIds.UnsupportedType,
            "A model input or output has a type ModelSdk cannot pass",
            "The {0} '{1}' of model '{2}' has type {3}, which ModelSdk cannot pass: {4}. The generated {5} NotSupportedException.",
            Category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor DuplicateClassName = new DiagnosticDescriptor(
            DiagnosticIds.DuplicateClassName,
            "Two ONNX models map to the same class",
            "The ONNX models '{1}' and '{2}' both map to class '{0}'; set ClassName (or Namespace) on one of the OnnxModel items",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor InvalidClassName = new DiagnosticDescriptor(
            DiagnosticIds.InvalidClassName,
            "The ClassName of an OnnxModel item is not a valid C# class name",
            "ClassName '{1}' of the ONNX model '{0}' is not a valid C# class name{2}",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor InvalidNamespace = new DiagnosticDescriptor(
            DiagnosticIds.InvalidNamespace,
            "The Namespace of an OnnxModel item is not a valid C# namespace",
            "Namespace '{1}' of the ONNX model '{0}' is not a valid C# namespace",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor NotBatchable = new DiagnosticDescriptor(
            DiagnosticIds.NotBatchable,
            "The BatchDim of an OnnxModel item can't batch the model",
            "BatchDim '{1}' of the ONNX model '{0}' can't batch it: {2}; no Batcher was generated",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true,
            description: "A dynamic batcher needs every input and output to be a tensor whose first dim is the batch dim (a symbolic dim, named by BatchDim), used nowhere else in its shape; inputs need fixed item dims and numeric elements. Without BatchDim the generator looks for such a dim itself and generates no batcher when there is none.");

        public static readonly DiagnosticDescriptor NoClassifier = new DiagnosticDescriptor(
            DiagnosticIds.NoClassifier,
            "The classifier helpers of a model could not be generated as asked",
            "The classifier helpers of the ONNX model '{0}' (Labels, Best, TopK): {1}",
            Category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: true,
            description: "Helpers read a ZipMap output, or a float tensor [N, classes] named by ScoresOutput or matched by the number of labels (a Labels file, one per line, or a labels metadata entry).");

        public static readonly DiagnosticDescriptor UnmatchedRename = new DiagnosticDescriptor(
            DiagnosticIds.UnmatchedRename,
            "A Rename of an OnnxModel item matches nothing in the model",
            "Rename '{1}' of the ONNX model '{0}' matches no input, output or symbolic dim of the model; it was ignored",
            Category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: true,
            description: "Rename takes onnxName=CSharpName pairs separated by ';'. The ONNX names are case-sensitive and written as in the model (see the generated class's docs).");

        /// <summary>Reported by <see cref="Analyzers.SynchronousViewAnalyzer"/>, not by the generator.</summary>
        public static readonly DiagnosticDescriptor ViewEscapesToDelegate = new DiagnosticDescriptor(
            DiagnosticIds.ViewEscapesToDelegate,
            "A view of a synchronous run escapes into a generic delegate",
            "'{0}' is a view of a synchronous run, valid only until the next Run on this thread: it can't be returned from or passed to a delegate ('{1}' here), which frameworks (ASP.NET Core minimal APIs, serializers) call or read later. Copy what you need (ToArray(), ToOwned()) or use RunAsync, whose result you own.",
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true,
            description: "The result of a synchronous Run and its output views are ref structs over buffers that the next Run on the same thread reuses. "
                + "Since .NET 9, Func<> and Action<> allow ref struct type arguments, so a lambda, anonymous method or method group that returns or takes such a view "
                + "converts to a generic delegate and compiles, for example a minimal API handler whose natural type Func<..., OutputSpan<float>> is passed as System.Delegate. "
                + "Whoever receives the delegate calls it later or reflects over its signature: ASP.NET Core rejects the return type at startup, failing every endpoint of the app. "
                + "Return a copy (ToArray(), ToOwned()) or use RunAsync, whose result the caller owns. A non-generic delegate type you declare yourself may still return or take a view.");

        /// <summary>Creates the Roslyn diagnostic, located at the start of the model file.</summary>
        public static Diagnostic ToDiagnostic(DiagnosticInfo info)
        {
            Location location = Location.Create(info.FilePath, default(TextSpan), new LinePositionSpan(default, default));
            return Diagnostic.Create(info.Descriptor, location, info.Args.ToArray<object>());
        }

        private static object[] ToArray<T>(this EquatableArray<string> args)
        {
            var result = new object[args.Count];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = args[i];
            }

            return result;
        }
    }
}
