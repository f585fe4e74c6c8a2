using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using ModelSdk.Generators.Analyzers;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>
    /// MSDK0007: a view of a synchronous run (a ref struct marked [ModelSdk.SynchronousView]) must not escape into a
    /// generic delegate, e.g. a minimal API handler. Self-contained: the attribute, the views and a fake model are
    /// declared in the test source, compiled against the .NET 10 reference assemblies (Func/Action allow ref struct).
    /// </summary>
    public sealed class SynchronousViewAnalyzerTests
    {
        private const string Id = "MSDK0007";

        /// <summary>What the runtime and a generated model class look like, as far as the analyzer cares.</summary>
        private const string Library = @"
namespace ModelSdk
{
    [System.AttributeUsage(System.AttributeTargets.Struct)]
    public sealed class SynchronousViewAttribute : System.Attribute { }

    [SynchronousView]
    public readonly ref struct OutputSpan<T>
    {
        private readonly System.ReadOnlySpan<T> _span;
        public OutputSpan(System.ReadOnlySpan<T> span) { _span = span; }
        public int Length => _span.Length;
        public T[] ToArray() => _span.ToArray();
    }
}

namespace App
{
    using ModelSdk;

    public sealed class Digits
    {
        private readonly float[] _buffer = new float[10];

        public Result Run(float[] pixels) => new Result(this);

        [SynchronousView]
        public readonly ref struct Result
        {
            private readonly Digits _model;
            internal Result(Digits model) { _model = model; }
            public OutputSpan<float> Probabilities => new OutputSpan<float>(_model._buffer);
        }
    }

    /// <summary>An ordinary ref struct: not a view of a run.</summary>
    public readonly ref struct Unmarked { }

    public static class Endpoints
    {
        /// <summary>Like ASP.NET Core's MapPost(string, Delegate).</summary>
        public static void Map(string pattern, System.Delegate handler) { }
    }
}
";

        [Fact]
        public void Natural_type_lambda_passed_as_Delegate_returning_a_view_is_an_error()
        {
            Diagnostic d = Assert.Single(Analyze(Program(@"
        Endpoints.Map(""/predict"", [|(float[] pixels, Digits model) => model.Run(pixels).Probabilities|]);"), out var spans));
            AssertAt(d, spans[0]);
            Assert.Equal(DiagnosticSeverity.Error, d.Severity);
            string message = d.GetMessage();
            Assert.StartsWith("'OutputSpan<float>' is a view of a synchronous run", message);
            Assert.Contains("'Func<float[], Digits, OutputSpan<float>>'", message);
            Assert.Contains("RunAsync", message);
        }

        [Fact]
        public void Natural_type_lambda_returning_the_Result_itself_is_an_error()
        {
            Diagnostic d = Assert.Single(Analyze(Program(@"
        Endpoints.Map(""/predict"", [|(float[] pixels, Digits model) => model.Run(pixels)|]);"), out var spans));
            AssertAt(d, spans[0]);
            Assert.StartsWith("'Digits.Result' is a view", d.GetMessage());
        }

        [Fact]
        public void Natural_type_lambda_assigned_to_Delegate_or_var_is_an_error()
        {
            var diagnostics = Analyze(Program(@"
        System.Delegate d = [|() => model.Run(pixels).Probabilities|];
        var f = [|() => model.Run(pixels)|];"), out var spans);
            AssertAt(diagnostics, spans);
        }

        [Fact]
        public void Explicit_Func_returning_a_view_is_an_error()
        {
            Diagnostic d = Assert.Single(Analyze(Program(@"
        Func<OutputSpan<float>> f = [|() => model.Run(pixels).Probabilities|];
        _ = f().Length;"), out var spans));
            AssertAt(d, spans[0]);
            Assert.Contains("'OutputSpan<float>'", d.GetMessage());
            Assert.Contains("'Func<OutputSpan<float>>'", d.GetMessage());
        }

        [Fact]
        public void Explicit_new_Func_is_reported_at_the_lambda()
        {
            var diagnostics = Analyze(Program(@"
        var f = new Func<OutputSpan<float>>([|() => model.Run(pixels).Probabilities|]);
        var g = new Func<float[], Digits, OutputSpan<float>>([|Predict|]);"), out var spans);
            AssertAt(diagnostics, spans);
        }

        [Fact]
        public void Anonymous_method_returning_a_view_is_an_error()
        {
            var diagnostics = Analyze(Program(@"
        Func<Digits.Result> f = [|delegate { return model.Run(pixels); }|];
        Endpoints.Map(""/p"", [|delegate (float[] p, Digits m) { return m.Run(p).Probabilities; }|]);"), out var spans);
            AssertAt(diagnostics, spans);
        }

        [Fact]
        public void Method_group_returning_a_view_is_an_error()
        {
            var diagnostics = Analyze(Program(@"
        Endpoints.Map(""/x"", [|Predict|]);
        Func<float[], Digits, OutputSpan<float>> f = [|Predict|];
        Endpoints.Map(""/y"", [|Local|]);
        OutputSpan<float> Local(float[] p) => model.Run(p).Probabilities;"), out var spans);
            AssertAt(diagnostics, spans);
            Assert.All(diagnostics, d => Assert.Contains("'OutputSpan<float>'", d.GetMessage()));
        }

        [Fact]
        public void Delegate_taking_a_view_is_an_error()
        {
            var diagnostics = Analyze(Program(@"
        Action<OutputSpan<float>> print = [|s => Console.WriteLine(s.Length)|];
        Func<Digits.Result, int> count = [|r => r.Probabilities.Length|];
        Endpoints.Map(""/z"", [|(Digits.Result r) => 0|]);"), out var spans);
            AssertAt(diagnostics, spans);
            Assert.Contains("'Digits.Result'", diagnostics[1].GetMessage());
        }

        [Fact]
        public void User_generic_delegate_returning_a_view_is_an_error()
        {
            var diagnostics = Analyze(Program(@"
        Producer<OutputSpan<float>> p = [|() => model.Run(pixels).Probabilities|];",
                members: @"
    delegate T Producer<T>() where T : allows ref struct;"), out var spans);
            AssertAt(diagnostics, spans);
        }

        [Fact]
        public void View_nested_in_a_type_argument_is_an_error()
        {
            // The outer lambda returns a Func<OutputSpan<float>>: both delegates carry the view.
            var diagnostics = Analyze(Program(@"
        Func<Func<OutputSpan<float>>> outer = [|() => [|() => new Digits().Run(new float[1]).Probabilities|]|];"), out var spans);
            AssertAt(diagnostics, spans);
        }

        [Fact]
        public void Natural_type_the_compiler_synthesizes_is_an_error()
        {
            // A ref parameter: Func can't express the lambda, so its natural type is a compiler-synthesized delegate.
            var diagnostics = Analyze(Program(@"
        Endpoints.Map(""/r"", [|(ref int i, Digits m) => m.Run(pixels).Probabilities|]);"), out var spans);
            AssertAt(diagnostics, spans);
        }

        [Fact]
        public void Lambda_returning_a_copy_is_fine()
        {
            Assert.Empty(Analyze(Program(@"
        Endpoints.Map(""/predict"", (float[] pixels, Digits model) => model.Run(pixels).Probabilities.ToArray());
        Func<float[]> f = () => model.Run(pixels).Probabilities.ToArray();
        Func<int> g = () => { var result = model.Run(pixels); OutputSpan<float> view = result.Probabilities; return view.Length; };
        Action a = () => Console.WriteLine(model.Run(pixels).Probabilities.Length);"), out _));
        }

        [Fact]
        public void Custom_non_generic_delegate_returning_a_view_is_fine()
        {
            Assert.Empty(Analyze(Program(@"
        Predictor p = x => model.Run(x).Probabilities;
        Predictor q = new Predictor(x => model.Run(x).Probabilities);
        Predictor r = Predict;
        Endpoints.Map(""/p"", p);
        ResultPredictor s = delegate (float[] x) { return model.Run(x); };
        _ = p(pixels).Length;",
                members: @"
    delegate OutputSpan<float> Predictor(float[] pixels);
    delegate Digits.Result ResultPredictor(float[] pixels);
    static OutputSpan<float> Predict(float[] pixels) => new Digits().Run(pixels).Probabilities;"), out _));
        }

        [Fact]
        public void Views_returned_and_used_directly_are_fine()
        {
            Assert.Empty(Analyze(Program(@"
        OutputSpan<float> Local(float[] p) => model.Run(p).Probabilities;
        OutputSpan<float> view = Local(pixels);
        float[] copy = Predict(pixels, model).ToArray();
        Digits.Result result = model.Run(pixels);
        Console.WriteLine(view.Length + copy.Length + result.Probabilities.Length);"), out _));
        }

        [Fact]
        public void Unmarked_ref_struct_and_lookalike_attribute_are_not_views()
        {
            Assert.Empty(Analyze(Program(@"
        Func<Unmarked> f = () => new Unmarked();
        Func<Other.Lookalike> g = () => new Other.Lookalike();",
                members: @"
    static class Holder { }",
                extra: @"
namespace Other
{
    [System.AttributeUsage(System.AttributeTargets.Struct)]
    public sealed class SynchronousViewAttribute : System.Attribute { }

    [SynchronousView]
    public readonly ref struct Lookalike { }
}"), out _));
        }

        [Fact]
        public void Generated_code_is_not_analyzed()
        {
            Assert.Empty(Analyze("// <auto-generated/>\n" + Program(@"
        Endpoints.Map(""/predict"", (float[] pixels, Digits model) => model.Run(pixels).Probabilities);"), out _));
        }

        [Fact]
        public void Without_the_attribute_in_the_compilation_nothing_is_reported()
        {
            string library = Library
                .Replace("public sealed class SynchronousViewAttribute", "public sealed class NotSynchronousViewAttribute")
                .Replace("[SynchronousView]", "[NotSynchronousView]");
            Assert.Empty(Analyze(Program(@"
        Endpoints.Map(""/predict"", (float[] pixels, Digits model) => model.Run(pixels).Probabilities);"), out _, library));
        }

        [Fact]
        public void Descriptor_is_an_error_in_the_ModelSdk_category()
        {
            DiagnosticDescriptor descriptor = Assert.Single(new SynchronousViewAnalyzer().SupportedDiagnostics);
            Assert.Equal(Id, descriptor.Id);
            Assert.Equal(DiagnosticSeverity.Error, descriptor.DefaultSeverity);
            Assert.Equal("ModelSdk", descriptor.Category);
            Assert.True(descriptor.IsEnabledByDefault);
            Assert.False(string.IsNullOrWhiteSpace(descriptor.Description.ToString()));
        }

        /// <summary>A user file: <paramref name="body"/> runs in a method where <c>model</c> and <c>pixels</c> are in scope.</summary>
        private static string Program(string body, string members = "", string extra = "") => @"
using System;
using ModelSdk;
using App;

static class Program
{
    static OutputSpan<float> Predict(float[] pixels, Digits model) => model.Run(pixels).Probabilities;
" + members + @"

    static void Test(Digits model, float[] pixels)
    {" + body + @"
    }
}
" + extra;

        /// <summary>
        /// Compiles <paramref name="markedSource"/> (with <c>[| |]</c> around the expected locations, which may nest)
        /// next to the library, asserts it compiles without errors, and returns the analyzer's diagnostics in source order.
        /// </summary>
        private static ImmutableArray<Diagnostic> Analyze(string markedSource, out IReadOnlyList<TextSpan> spans, string library = Library)
        {
            string source = Unmark(markedSource, out spans);
            var parse = new CSharpParseOptions(LanguageVersion.Latest);
            CSharpCompilation compilation = CSharpCompilation.Create(
                "UserProject",
                new[]
                {
                    CSharpSyntaxTree.ParseText(library, parse, path: "Library.cs"),
                    CSharpSyntaxTree.ParseText(source, parse, path: "User.cs"),
                },
                Basic.Reference.Assemblies.Net100.References.All,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

            Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));

            var exceptions = new ConcurrentQueue<Exception>();
            var options = new CompilationWithAnalyzersOptions(
                new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
                onAnalyzerException: (exception, _, _) => exceptions.Enqueue(exception),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false);
            ImmutableArray<Diagnostic> diagnostics = compilation
                .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new SynchronousViewAnalyzer()), options)
                .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
            Assert.Empty(exceptions);
            Assert.All(diagnostics, d => Assert.Equal(Id, d.Id));
            return diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ThenByDescending(d => d.Location.SourceSpan.Length).ToImmutableArray();
        }

        private static void AssertAt(Diagnostic diagnostic, TextSpan expected)
        {
            Assert.Equal(Id, diagnostic.Id);
            Assert.Equal("User.cs", diagnostic.Location.SourceTree?.FilePath);
            Assert.Equal(expected, diagnostic.Location.SourceSpan);
        }

        private static void AssertAt(ImmutableArray<Diagnostic> diagnostics, IReadOnlyList<TextSpan> expected)
        {
            Assert.Equal(expected.Count, diagnostics.Length);
            for (int i = 0; i < expected.Count; i++)
            {
                AssertAt(diagnostics[i], expected[i]);
            }
        }

        /// <summary>Removes the <c>[| |]</c> markers; returns the spans they enclosed, by start (outer first when nested).</summary>
        private static string Unmark(string marked, out IReadOnlyList<TextSpan> spans)
        {
            var text = new System.Text.StringBuilder(marked.Length);
            var open = new Stack<int>();
            var found = new List<TextSpan>();
            for (int i = 0; i < marked.Length; i++)
            {
                if (string.CompareOrdinal(marked, i, "[|", 0, 2) == 0)
                {
                    open.Push(text.Length);
                    i++;
                }
                else if (string.CompareOrdinal(marked, i, "|]", 0, 2) == 0)
                {
                    int start = open.Pop();
                    found.Add(TextSpan.FromBounds(start, text.Length));
                    i++;
                }
                else
                {
                    text.Append(marked[i]);
                }
            }

            Assert.Empty(open);
            spans = found.OrderBy(s => s.Start).ThenByDescending(s => s.Length).ToList();
            return text.ToString();
        }
    }
}
