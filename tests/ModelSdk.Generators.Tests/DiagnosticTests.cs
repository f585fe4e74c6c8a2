using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>Bad models and bad item metadata become diagnostics with an id at the model file, never generator crashes.</summary>
    public sealed class DiagnosticTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("modelsdk-diag-").FullName;

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Write(string name, byte[] bytes)
        {
            string path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        private static Diagnostic SingleModelDiagnostic(string path, string id, out GeneratorDriverRunResult run, ModelItem? item = null)
        {
            var (result, _, diagnostics) = GeneratorHarness.Run(new[] { item ?? new ModelItem(path) });
            run = result;
            Assert.Null(result.Results.Single().Exception);
            Diagnostic diagnostic = Assert.Single(diagnostics, d => d.Id.StartsWith("MSDK"));
            Assert.Equal(id, diagnostic.Id);
            Assert.Equal(path, diagnostic.Location.GetLineSpan().Path);
            return diagnostic;
        }

        [Fact]
        public void Empty_file()
        {
            Diagnostic d = SingleModelDiagnostic(Write("empty.onnx", Array.Empty<byte>()), "MSDK0001", out var run);
            Assert.Equal(DiagnosticSeverity.Error, d.Severity);
            Assert.Contains("empty.onnx", d.GetMessage());
            Assert.Contains("empty", d.GetMessage());
            Assert.Empty(run.Results.Single().GeneratedSources);
        }

        [Theory]
        [InlineData(0.5)]
        [InlineData(0.9)]
        [InlineData(0.999)]
        public void Truncated_file(double keep)
        {
            byte[] model = File.ReadAllBytes(GeneratorHarness.Model("digits"));
            Diagnostic d = SingleModelDiagnostic(Write("truncated.onnx", model.Take((int)(model.Length * keep)).ToArray()), "MSDK0001", out _);
            Assert.Contains("truncated", d.GetMessage());
        }

        [Fact]
        public void Random_bytes()
        {
            var bytes = new byte[4096];
            new Random(42).NextBytes(bytes);
            SingleModelDiagnostic(Write("noise.onnx", bytes), "MSDK0001", out _);
        }

        [Fact]
        public void Text_file_is_not_an_onnx_model()
        {
            Diagnostic d = SingleModelDiagnostic(Write("readme.onnx", System.Text.Encoding.UTF8.GetBytes("This is not a model.\nJust text.\n")), "MSDK0001", out _);
            Assert.Contains("readme.onnx", d.GetMessage());
        }

        [Fact]
        public void Length_field_claiming_more_than_the_file_holds()
        {
            var stream = new MemoryStream();
            new ProtoWriter(stream).Int(1, 8).Tag(7, 2).Varint(1UL << 40); // graph: "1 TB follows"
            stream.Write(new byte[16]);
            Diagnostic d = SingleModelDiagnostic(Write("huge-length.onnx", stream.ToArray()), "MSDK0001", out _);
            Assert.Contains("claims", d.GetMessage());
        }

        [Fact]
        public void Missing_file()
        {
            string path = Path.Combine(_dir, "gone.onnx");
            Diagnostic d = SingleModelDiagnostic(path, "MSDK0002", out _);
            Assert.Contains("gone.onnx", d.GetMessage());
        }

        [Fact]
        public void Unsupported_output_type_is_a_warning_saying_what_to_do_and_the_class_is_still_generated()
        {
            // seq(seq(tensor(float))): ONNX Runtime passes sequences of tensors or maps only.
            var model = new MemoryStream();
            new ProtoWriter(model).Int(1, 8).Message(7, g =>
            {
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "x", 3));
                g.Message(12, v => v.String(1, "nested").Message(2, type => type.Message(4, seq => seq.Message(1, inner =>
                    inner.Message(4, seq2 => seq2.Message(1, t => t.Message(1, tensor => tensor.Int(1, 1))))))));
            }).Message(8, o => o.String(1, string.Empty).Int(2, 17));
            Diagnostic d = SingleModelDiagnostic(Write("nested.onnx", model.ToArray()), "MSDK0003", out var run);
            Assert.Equal(DiagnosticSeverity.Warning, d.DefaultSeverity); // the harness compiles with warnings as errors
            Assert.Contains("'nested'", d.GetMessage());
            Assert.Contains("seq(seq(tensor(float)))", d.GetMessage());
            Assert.Contains("sequences of tensors or of maps only", d.GetMessage());
            Assert.Single(run.Results.Single().GeneratedSources);
        }

        [Fact]
        public void Sequence_map_and_optional_models_generate_without_warnings()
        {
            foreach (string name in new[] { "sequence_output", "sequence_input", "map_input", "optional_values", "iris_classifier", "iris_classifier_strings" })
            {
                var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model(name)) });
                Assert.Null(run.Results.Single().Exception);
                Assert.Empty(diagnostics.Where(d => d.Id.StartsWith("MSDK")));
                Assert.Single(run.Results.Single().GeneratedSources);
            }
        }

        [Fact]
        public void Labels_file_names_a_ZipMaps_int64_labels_and_user_code_reads_them()
        {
            const string user = @"
namespace UserProject
{
    internal static class Usage
    {
        public static string Name(Iris model, float[] rows)
        {
            Iris.Result result = model.Run(rows, floatInputDim0: rows.Length / 4);
            ModelSdk.Prediction<long> best = result.Best();
            System.Span<ModelSdk.Prediction<long>> top = new ModelSdk.Prediction<long>[2];
            result.TopK(top);
            return best.Name + Iris.LabelNames[(int)Iris.Labels[best.Index]] + top[1].Name;
        }
    }
}";
            var item = new ModelItem(GeneratorHarness.Model("iris_classifier"), "Iris", LabelsPath: "/src/iris_labels.txt", LabelsText: "setosa\r\nversicolor\r\n\r\nvirginica\r\n");
            var (run, _, diagnostics) = GeneratorHarness.Run(new[] { item }, user);
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
            string code = run.Results.Single().GeneratedSources.Single().SourceText.ToString();
            Assert.Contains("LabelNames { get; } = global::System.Array.AsReadOnly(new string[] { \"setosa\", \"versicolor\", \"virginica\" });", code);
            Assert.Contains("<c>0</c>, <c>1</c>, <c>2</c>", code); // the docs list the labels
        }

        [Fact]
        public void Hostile_label_names_are_escaped_in_code_and_docs()
        {
            const string hostile = "say \"hi\"\\n\n</summary><script>\n*/ #error boom // \u2028x\n";
            var item = new ModelItem(GeneratorHarness.Model("iris_classifier"), "Iris", LabelsPath: "/src/hostile.txt", LabelsText: hostile);
            const string user = "namespace UserProject { internal static class Usage { public static string First() => Iris.LabelNames[0] + Iris.LabelNames[1] + Iris.LabelNames[2]; } }";
            var (run, _, diagnostics) = GeneratorHarness.Run(new[] { item }, user);
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics)); // compiles, warnings as errors, XML docs checked
            string code = run.Results.Single().GeneratedSources.Single().SourceText.ToString();
            string[] lines = code.Split('\n');
            Assert.Contains(lines, l => l.TrimStart().StartsWith("///", StringComparison.Ordinal) && l.Contains("&lt;script&gt;", StringComparison.Ordinal)); // listed in the docs, escaped
            Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("///", StringComparison.Ordinal) && l.Contains("<script>", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("#error", StringComparison.Ordinal)); // no directive smuggled in
            Assert.Contains("\"</summary><script>\"", code); // the name itself, as a string literal
        }

        [Fact]
        public void Classifier_problems_are_MSDK0011_and_the_class_is_still_generated()
        {
            string iris = GeneratorHarness.Model("iris_classifier");
            Diagnostic missing = SingleModelDiagnostic(iris, "MSDK0011", out var run, new ModelItem(iris, LabelsPath: "/src/none.txt"));
            Assert.Contains("'/src/none.txt' was not found", missing.GetMessage());
            Assert.Single(run.Results.Single().GeneratedSources);

            Diagnostic count = SingleModelDiagnostic(iris, "MSDK0011", out _, new ModelItem(iris, LabelsPath: "/src/two.txt", LabelsText: "a\nb\n"));
            Assert.Contains("has 2 labels but the ZipMap has 3 classes", count.GetMessage());

            Diagnostic scores = SingleModelDiagnostic(iris, "MSDK0011", out _, new ModelItem(iris, ScoresOutput: "nope"));
            Assert.Contains("ScoresOutput 'nope' names no output", scores.GetMessage());

            Diagnostic label = SingleModelDiagnostic(iris, "MSDK0011", out _, new ModelItem(iris, ScoresOutput: "output_label"));
            Assert.Contains("output 'output_label' is neither a ZipMap output nor a float tensor", label.GetMessage());
        }

        [Fact]
        public void ScoresOutput_picks_a_tensor_and_labels_metadata_is_split_on_commas()
        {
            // digits: labels "0,...,9" in its metadata; probabilities float [1, 10].
            var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("digits"), ScoresOutput: "probabilities") });
            Assert.Empty(diagnostics);
            string code = run.Results.Single().GeneratedSources.Single().SourceText.ToString();
            Assert.Contains("global::System.Collections.Generic.IReadOnlyList<string> Labels { get; } = global::System.Array.AsReadOnly(new string[] { \"0\", \"1\"", code);
            Assert.Contains("Classification.Best(Probabilities, row,", code);
        }

        [Fact]
        public void Unsupported_element_types_are_warnings_per_member_and_the_class_is_still_generated()
        {
            // complex64 (14) in and out, next to a float input: ONNX Runtime has no complex tensors to pass.
            static void Tensor(ProtoWriter v, string name, int type) =>
                v.String(1, name).Message(2, t => t.Message(1, tensor => tensor.Int(1, type).Message(2, shape => shape.Message(1, d => d.Int(1, 2)))));
            var model = new MemoryStream();
            new ProtoWriter(model).Int(1, 8).Message(7, g =>
            {
                g.Message(11, v => Tensor(v, "x", 1));
                g.Message(11, v => Tensor(v, "z_in", 14));
                g.Message(12, v => Tensor(v, "z_out", 14));
                g.Message(12, v => Tensor(v, "y", 1));
            }).Message(8, o => o.String(1, string.Empty).Int(2, 17));
            string path = Write("complex.onnx", model.ToArray());
            var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path) });
            Assert.Null(run.Results.Single().Exception);
            Diagnostic[] warnings = diagnostics.Where(d => d.Id.StartsWith("MSDK")).ToArray();
            Assert.Equal(2, warnings.Length); // the complex input and output; the float ones are fine
            Assert.All(warnings, d => Assert.Equal("MSDK0003", d.Id));
            Assert.All(warnings, d => Assert.Equal(path, d.Location.GetLineSpan().Path));
            Assert.Contains(warnings, d => d.GetMessage().Contains("'z_in'") && d.GetMessage().Contains("complex64") && d.GetMessage().Contains("no complex tensors"));
            Assert.Single(run.Results.Single().GeneratedSources);
        }

        [Fact]
        public void Two_models_mapping_to_one_class()
        {
            string copy = Write("digits.onnx", File.ReadAllBytes(GeneratorHarness.Model("tiny")));
            var (run, _, diagnostics) = GeneratorHarness.Run(new[]
            {
                new ModelItem(GeneratorHarness.Model("digits")),
                new ModelItem(copy),
            });
            Diagnostic d = Assert.Single(diagnostics);
            Assert.Equal("MSDK0004", d.Id);
            Assert.Contains("UserProject.Digits", d.GetMessage());
            Assert.Single(run.Results.Single().GeneratedSources);
        }

        [Theory]
        [InlineData("1Digits")]
        [InlineData("class")]
        [InlineData("My.Digits")]
        [InlineData("Has Space")]
        [InlineData("Result")]
        public void Invalid_class_name(string className)
        {
            var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("tiny"), className) });
            Diagnostic d = Assert.Single(diagnostics);
            Assert.Equal("MSDK0005", d.Id);
            Assert.Contains(className, d.GetMessage());
            Assert.Empty(run.Results.Single().GeneratedSources);
        }

        [Theory]
        [InlineData("My..App")]
        [InlineData("9Lives")]
        [InlineData("My.class")]
        public void Invalid_namespace(string ns)
        {
            var (_, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("tiny"), null, ns) });
            Assert.Equal("MSDK0006", Assert.Single(diagnostics).Id);
        }

        [Fact]
        public void A_bad_model_does_not_stop_the_good_ones()
        {
            var (run, _, diagnostics) = GeneratorHarness.Run(new[]
            {
                new ModelItem(Write("bad.onnx", new byte[] { 0xFF, 0xFF, 0xFF })),
                new ModelItem(GeneratorHarness.Model("tiny")),
            });
            Assert.Equal("MSDK0001", Assert.Single(diagnostics).Id);
            Assert.Equal("UserProject.Tiny.g.cs", Assert.Single(run.Results.Single().GeneratedSources).HintName);
        }
    }
}
