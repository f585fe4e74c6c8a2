using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace ModelSdk.Generators.Analyzers
{
    /// <summary>
    /// MSDK0007: a view of a synchronous run (a ref struct marked <c>[ModelSdk.SynchronousView]</c>, such as a
    /// generated <c>Result</c> or <c>OutputSpan&lt;T&gt;</c>) must not be returned from or passed to a generic delegate.
    /// </summary>
    /// <remarks>
    /// Since .NET 9, <c>Func&lt;&gt;</c> and <c>Action&lt;&gt;</c> are declared <c>allows ref struct</c>, so
    /// <c>app.MapPost("/p", (float[] x, Digits m) =&gt; m.Run(x).Probabilities)</c> compiles: the lambda's natural type
    /// <c>Func&lt;float[], Digits, OutputSpan&lt;float&gt;&gt;</c> converts to <c>System.Delegate</c>. The framework calls
    /// (or reflects over) that delegate later, when the view is no longer valid; ASP.NET Core rejects it at startup.
    /// Roslyn represents every lambda, anonymous method and method group conversion to a delegate type, implicit
    /// or written with <c>new</c>, as an <see cref="IDelegateCreationOperation"/> whose type is the delegate type
    /// (for the natural-type case, that operation sits inside the implicit conversion to <c>System.Delegate</c>).
    /// </remarks>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class SynchronousViewAnalyzer : DiagnosticAnalyzer
    {
        internal const string AttributeNamespace = "ModelSdk";

        internal const string AttributeName = "SynchronousViewAttribute";

        private const string AttributeMetadataName = AttributeNamespace + "." + AttributeName;

        /// <summary>How deep to look into type arguments (<c>Func&lt;Holder&lt;OutputSpan&lt;float&gt;&gt;&gt;</c>).</summary>
        private const int MaxTypeArgumentDepth = 4;

        private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.CSharpShortErrorMessageFormat;

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
            ImmutableArray.Create(Diagnostics.ViewEscapesToDelegate);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.EnableConcurrentExecution();
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.RegisterCompilationStartAction(start =>
            {
                // No attribute anywhere in the compilation (source or references): no view types, nothing to do.
                if (start.Compilation.GetTypesByMetadataName(AttributeMetadataName).IsEmpty)
                {
                    return;
                }

                start.RegisterOperationAction(AnalyzeDelegateCreation, OperationKind.DelegateCreation);
            });
        }

        private static void AnalyzeDelegateCreation(OperationAnalysisContext context)
        {
            var creation = (IDelegateCreationOperation)context.Operation;
            if (!(creation.Type is INamedTypeSymbol delegateType)
                || delegateType.TypeKind != TypeKind.Delegate
                || !IsGenericOrSynthesized(delegateType)
                || !(delegateType.DelegateInvokeMethod is IMethodSymbol invoke))
            {
                return;
            }

            ITypeSymbol? view = FindView(invoke.ReturnType, 0);
            for (int i = 0; view is null && i < invoke.Parameters.Length; i++)
            {
                view = FindView(invoke.Parameters[i].Type, 0);
            }

            if (view is null)
            {
                return;
            }

            // At the lambda, anonymous method or method group, also when it is wrapped in `new Func<...>(...)`.
            IOperation target = creation.Target;
            SyntaxNode at = target is IAnonymousFunctionOperation || target is IMethodReferenceOperation
                ? target.Syntax
                : creation.Syntax;
            context.ReportDiagnostic(Diagnostic.Create(
                Diagnostics.ViewEscapesToDelegate,
                at.GetLocation(),
                view.ToDisplayString(TypeFormat),
                delegateType.ToDisplayString(TypeFormat)));
        }

        /// <summary>
        /// A constructed generic delegate (<c>Func&lt;...&gt;</c>, <c>Action&lt;...&gt;</c>, a user's generic delegate),
        /// or one the compiler synthesized for a lambda's natural type (when <c>Func</c>/<c>Action</c> can't express it,
        /// e.g. a <c>ref</c> parameter): neither is a type the user declared to hold a view. A non-generic delegate
        /// the user declared is a deliberate choice and is allowed.
        /// </summary>
        private static bool IsGenericOrSynthesized(INamedTypeSymbol delegateType) =>
            (delegateType.IsGenericType && !delegateType.IsUnboundGenericType)
            || (delegateType.IsImplicitlyDeclared && delegateType.IsAnonymousType);

        /// <summary>The first type marked [SynchronousView] in <paramref name="type"/> or its type arguments.</summary>
        private static ITypeSymbol? FindView(ITypeSymbol type, int depth)
        {
            if (!(type is INamedTypeSymbol named))
            {
                return null;
            }

            if (IsSynchronousView(named))
            {
                return named;
            }

            if (depth >= MaxTypeArgumentDepth)
            {
                return null;
            }

            foreach (ITypeSymbol argument in named.TypeArguments)
            {
                if (FindView(argument, depth + 1) is ITypeSymbol view)
                {
                    return view;
                }
            }

            return null;
        }

        private static bool IsSynchronousView(INamedTypeSymbol type)
        {
            if (type.TypeKind != TypeKind.Struct)
            {
                return false;
            }

            foreach (AttributeData attribute in type.OriginalDefinition.GetAttributes())
            {
                if (attribute.AttributeClass is INamedTypeSymbol attributeClass
                    && attributeClass.Name == AttributeName
                    && attributeClass.ContainingType is null
                    && attributeClass.ContainingNamespace is INamespaceSymbol ns
                    && ns.Name == AttributeNamespace
                    && ns.ContainingNamespace is INamespaceSymbol parent
                    && parent.IsGlobalNamespace)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
