using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelSdk.Generators.Analyzers;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>
    /// The lifetime rule, enforced where it can be: a synchronous result (<c>Digits.Result</c>, its
    /// <c>OutputSpan</c> views) used across an <c>await</c>, stored in a field, captured by a lambda or handed to a
    /// framework through a delegate is a compile-time error; the owned result of <c>RunAsync</c> goes anywhere.
    /// Each case compiles real generated code (digits.onnx) with the generator's analyzer, as a user's build does.
    /// </summary>
    public class LifetimeRulesTests
    {
        private static ImmutableArray<Diagnostic> Compile(string body)
        {
            string user = @"
using System;
using System.Threading.Tasks;
using ModelSdk;

namespace UserProject
{
    internal static class Endpoints
    {
        // The shape of ASP.NET Core's MapGet/MapPost: a route and a System.Delegate.
        public static void Map(string route, Delegate handler) { }
    }

    internal sealed class Usage
    {
" + body + @"
    }
}";
            var (_, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("digits")) }, user);

            // Some of these (a ref struct kept across an await) are found while lowering async methods: emit to see them.
            ImmutableArray<Diagnostic> emitted = output.Emit(System.IO.Stream.Null).Diagnostics;
            ImmutableArray<Diagnostic> analyzer = output
                .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new SynchronousViewAnalyzer()))
                .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
            return diagnostics.AddRange(emitted).AddRange(analyzer).Where(d => d.Severity == DiagnosticSeverity.Error).Distinct().ToImmutableArray();
        }

        private static void AssertError(string body, params string[] ids)
        {
            ImmutableArray<Diagnostic> errors = Compile(body);
            Assert.True(errors.Any(e => ids.Contains(e.Id)), $"expected one of {string.Join(", ", ids)}, got:\n{GeneratorHarness.Describe(errors)}");
        }

        private static void AssertCompiles(string body)
        {
            ImmutableArray<Diagnostic> errors = Compile(body);
            Assert.True(errors.IsEmpty, GeneratorHarness.Describe(errors));
        }

        [Fact]
        public void A_synchronous_result_kept_across_an_await_is_a_compile_error()
        {
            // The old runtime's 92%-failing endpoint: another request ran on this thread's request during the await.
            AssertError(@"
        public static async Task<long> Label(Digits model, float[] pixels)
        {
            Digits.Result r = model.Run(pixels);
            await Task.Yield();
            return r.Label[0];
        }", "CS4007", "CS4012");
        }

        [Fact]
        public void An_output_view_kept_across_an_await_is_a_compile_error()
        {
            AssertError(@"
        public static async Task<float> First(Digits model, float[] pixels)
        {
            OutputSpan<float> p = model.Run(pixels).Probabilities;
            await Task.Yield();
            return p[0];
        }", "CS4007", "CS4012");
        }

        [Fact]
        public void A_synchronous_result_or_view_in_a_field_is_a_compile_error()
        {
            AssertError(@"        private Digits.Result _last;", "CS8345");
            AssertError(@"        private OutputSpan<float> _probabilities;", "CS8345");
        }

        [Fact]
        public void A_synchronous_result_captured_by_a_lambda_is_a_compile_error()
        {
            AssertError(@"
        public static Func<long> Later(Digits model, float[] pixels)
        {
            Digits.Result r = model.Run(pixels);
            return () => r.Label[0];
        }", "CS8175");
        }

        [Fact]
        public void Returning_a_view_from_a_minimal_api_handler_is_MSDK0007()
        {
            // Compiles as C# (Func<..> allows ref structs since .NET 9) and broke every endpoint of the app at run time.
            AssertError(@"
        public static void Register(Digits model) =>
            Endpoints.Map(""/predict"", (float[] pixels) => model.Run(pixels).Probabilities);", "MSDK0007");
            AssertError(@"
        public static void Register(Digits model) =>
            Endpoints.Map(""/predict"", (float[] pixels) => model.Run(pixels));", "MSDK0007");
        }

        [Fact]
        public void Handing_a_view_to_a_generic_method_is_a_compile_error()
        {
            AssertError(@"
        public static Task<OutputSpan<float>> Later(Digits model, float[] pixels) => Task.Run(() => model.Run(pixels).Probabilities);", "CS9244", "CS0306");
        }

        [Fact]
        public void What_the_rule_allows_compiles()
        {
            AssertCompiles(@"
        // Read a synchronous result before awaiting; keep copies.
        public static async Task<long> ReadThenAwait(Digits model, float[] pixels)
        {
            long label = model.Run(pixels).Label[0];
            float[] probabilities = model.Run(pixels).Probabilities.ToArray();
            await Task.Yield();
            return label + probabilities.Length;
        }

        // An owned result goes across awaits, into fields, lambdas and serializers.
        private Digits.OwnedResult? _kept;

        public async Task<long> Owned(Digits model, float[] pixels)
        {
            using Digits.OwnedResult r = await model.RunAsync(pixels);
            await Task.Yield();
            _kept = model.Run(pixels).ToOwned();
            Func<long> later = () => _kept.Label[0];
            return r.Label[0] + later();
        }

        public static void Register(Digits model)
        {
            Endpoints.Map(""/owned"", async (float[] pixels) => await model.RunAsync(pixels));
            Endpoints.Map(""/copy"", (float[] pixels) => model.Run(pixels).Probabilities.ToArray());
            Endpoints.Map(""/to-owned"", (float[] pixels) => model.Run(pixels).ToOwned());
        }

        // Views flow freely through synchronous code.
        public static float Sum(Digits model, float[] pixels) => Total(model.Run(pixels).Probabilities);

        private static float Total(OutputSpan<float> values)
        {
            float sum = 0;
            foreach (float v in values.Span)
            {
                sum += v;
            }

            return sum;
        }");
        }
    }
}
