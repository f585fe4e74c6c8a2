using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>Names that clash with each other or with what the generator emits: diagnostics or distinct names, never generated code that does not compile.</summary>
    public sealed class NameClashTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("modelsdk-names-").FullName;

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Write(string name, Action<ProtoWriter> graph)
        {
            var model = new MemoryStream();
            new ProtoWriter(model).Int(1, 8).Message(7, graph);
            string path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, model.ToArray());
            return path;
        }

        private string CopyOf(string model, string name)
        {
            string path = Path.Combine(_dir, name);
            File.Copy(GeneratorHarness.Model(model), path);
            return path;
        }

        private static void AssertCompiles(Compilation output)
        {
            Diagnostic[] errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
            Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => e.ToString())));
        }

        [Fact]
        public void Inputs_and_outputs_named_like_generated_members_get_other_names_and_the_code_compiles()
        {
            string path = Write("members.onnx", g =>
            {
                foreach (string name in new[] { "rank", "dim0", "dim1", "onnx_name", "element_count", "inputs" })
                {
                    g.Message(11, v => ProtoWriter.FloatTensorValue(v, name, 2, 3));
                }

                foreach (string name in new[] { "outputs", "batcher", "item_result", "result" })
                {
                    g.Message(12, v => ProtoWriter.FloatTensorValue(v, name, 2, 3));
                }
            });
            var (run, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path, "Members") });
            Assert.Null(run.Results.Single().Exception);
            AssertCompiles(output);
            INamedTypeSymbol inputs = output.GetTypeByMetadataName("UserProject.Members+Inputs")!;
            Assert.Equal(6, inputs.GetTypeMembers().Length);
            Assert.All(inputs.GetTypeMembers(), shape => Assert.Contains(shape.GetMembers("OnnxName"), m => m is IFieldSymbol));
        }

        [Fact]
        public void An_element_count_that_overflows_is_left_out_never_wrong()
        {
            string path = Write("huge.onnx", g =>
            {
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "x", 1L << 62, 4, long.MaxValue, 64));
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "empty", 0, 5));
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "big", 1L << 20, 1L << 12));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "y", 1));
            });
            var (run, output, _) = GeneratorHarness.Run(new[] { new ModelItem(path, "Huge") });
            AssertCompiles(output);
            INamedTypeSymbol Shape(string name) => output.GetTypeByMetadataName("UserProject.Huge+Inputs+" + name)!;
            Assert.Empty(Shape("X").GetMembers("ElementCount"));
            Assert.Empty(Shape("Big").GetMembers("ElementCount")); // 2^32 elements: more than an int
            var empty = (IFieldSymbol)Shape("Empty").GetMembers("ElementCount").Single();
            Assert.Equal(0, empty.ConstantValue);
        }

        [Fact]
        public void Class_names_that_differ_only_in_case_are_both_generated()
        {
            var (run, output, diagnostics) = GeneratorHarness.Run(new[]
            {
                new ModelItem(CopyOf("tiny", "a.onnx"), "Abc"),
                new ModelItem(CopyOf("tiny", "b.onnx"), "ABC"),
            });
            Assert.Null(run.Results.Single().Exception);
            Assert.Empty(diagnostics.Where(d => d.Id.StartsWith("CS") || d.Id.StartsWith("MSDK")));
            AssertCompiles(output);
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.Abc"));
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.ABC"));
            string[] hints = run.Results.Single().GeneratedSources.Select(s => s.HintName).ToArray();
            Assert.Equal(2, hints.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        }

        [Fact]
        public void Model_files_whose_names_differ_only_in_case_give_two_classes()
        {
            var (run, output, diagnostics) = GeneratorHarness.Run(new[]
            {
                new ModelItem(CopyOf("tiny", "mobilenet.onnx")),
                new ModelItem(CopyOf("tiny", "MobileNet.onnx")),
            });
            Assert.Null(run.Results.Single().Exception);
            AssertCompiles(output);
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.Mobilenet"));
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.MobileNet"));
        }

        [Theory]
        [InlineData("var")]
        [InlineData("record")]
        [InlineData("file")]
        [InlineData("required")]
        [InlineData("scoped")]
        public void A_ClassName_that_is_a_contextual_keyword_is_MSDK0005(string name)
        {
            string path = CopyOf("tiny", "model.onnx");
            var (run, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path, name) });
            Diagnostic d = Assert.Single(diagnostics, x => x.Id == "MSDK0005");
            Assert.Contains("contextual keyword", d.GetMessage());
            Assert.Empty(run.Results.Single().GeneratedSources);
            AssertCompiles(output);
        }

        [Fact]
        public void A_doc_string_or_metadata_value_over_a_megabyte_is_cut_in_the_docs_not_an_error()
        {
            string big = new string('d', 2 * 1024 * 1024);
            string path = Write("bigdocs.onnx", g =>
            {
                g.String(10, big); // graph doc_string
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "x", 1));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "y", 1));
            });
            byte[] model = File.ReadAllBytes(path);
            var withMetadata = new MemoryStream();
            withMetadata.Write(model);
            new ProtoWriter(withMetadata).Message(14, kv => kv.String(1, "notes").String(2, big)); // metadata_props
            File.WriteAllBytes(path, withMetadata.ToArray());

            var (run, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path, "BigDocs") });
            Assert.DoesNotContain(diagnostics, d => d.Id.StartsWith("MSDK"));
            AssertCompiles(output);
            string code = run.Results.Single().GeneratedSources.Single().SourceText.ToString();
            Assert.True(code.Length < 512 * 1024, $"{code.Length} characters of generated code");
        }

        [Fact]
        public void Rename_gives_inputs_outputs_and_symbolic_dims_the_names_the_user_chose()
        {
            string path = Write("exported.onnx", g =>
            {
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "x", "p2o.DynamicDimension.0", 8));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "save_infer_model/scale_0.tmp_1", "p2o.DynamicDimension.0", 4));
            });
            var (run, output, diagnostics) = GeneratorHarness.Run(new[]
            {
                new ModelItem(path, "Exported", Rename: "p2o.DynamicDimension.0=batch; x=image ;save_infer_model/scale_0.tmp_1=scores;missing=nothing"),
            });
            AssertCompiles(output);
            IMethodSymbol run1 = output.GetTypeByMetadataName("UserProject.Exported")!.GetMembers("Run").OfType<IMethodSymbol>().Single();
            Assert.Equal(new[] { "image", "batch", "outputs" }, run1.Parameters.Select(p => p.Name).ToArray());
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.Exported+Result")!.GetMembers("Scores").SingleOrDefault());
            Assert.NotNull(output.GetTypeByMetadataName("UserProject.Exported+Inputs+Image"));
            string code = run.Results.Single().GeneratedSources.Single().SourceText.ToString();
            Assert.Contains("<c>p2o.DynamicDimension.0</c>", code); // the docs keep the ONNX names
            Diagnostic unmatched = Assert.Single(diagnostics, d => d.Id == "MSDK0010");
            Assert.Contains("'missing'", unmatched.GetMessage());
            Assert.Equal(DiagnosticSeverity.Warning, unmatched.DefaultSeverity);
        }
    }
}
