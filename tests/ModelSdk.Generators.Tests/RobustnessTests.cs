using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelSdk.Generators.Model;
using ModelSdk.Generators.Reading;
using ModelSdk.Onnx;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    /// <summary>A model file is untrusted input: malformed files are diagnostics, hostile names and docs inject nothing.</summary>
    public class RobustnessTests
    {
        private static readonly string[] Seeds = { "digits", "types", "dynamic_batch", "hostile_names", "sequence_output", "legacy_initializer_inputs" };

        /// <summary>Reads bytes as the generator would; returns null or the rejection message. Anything else escaping is a bug.</summary>
        private static string? Read(byte[] bytes)
        {
            try
            {
                OnnxModelReader.Read(new MemoryStream(bytes, writable: false));
                return null;
            }
            catch (ModelFormatException ex)
            {
                return ex.Message;
            }
        }

        [Fact]
        public void Fuzzed_models_are_read_or_rejected_never_crash_in_bounded_time()
        {
            var random = new Random(20261125);
            byte[][] seeds = Seeds.Select(s => File.ReadAllBytes(GeneratorHarness.Model(s))).ToArray();
            int accepted = 0, rejected = 0;
            var slowest = TimeSpan.Zero;
            long allocatedMost = 0;
            for (int i = 0; i < 12_000; i++)
            {
                byte[] seed = seeds[random.Next(seeds.Length)];
                byte[] mutant = Mutate(seed, random);
                long before = GC.GetAllocatedBytesForCurrentThread();
                var watch = Stopwatch.StartNew();
                string? rejection = Read(mutant); // an unexpected exception type fails the test here
                watch.Stop();
                slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
                allocatedMost = Math.Max(allocatedMost, GC.GetAllocatedBytesForCurrentThread() - before);
                if (rejection is null)
                {
                    accepted++;
                }
                else
                {
                    rejected++;
                    Assert.False(string.IsNullOrWhiteSpace(rejection));
                }
            }

            Assert.True(rejected > 1000, $"most mutants should be rejected ({accepted} accepted, {rejected} rejected)");
            Assert.True(slowest < TimeSpan.FromSeconds(2), $"slowest read took {slowest}");
            Assert.True(allocatedMost < 100L * 1024 * 1024, $"a read allocated {allocatedMost} bytes");
        }

        /// <summary>Bit flips, truncation, inserted garbage, and length/varint fields set to huge values.</summary>
        private static byte[] Mutate(byte[] seed, Random random)
        {
            byte[] bytes = (byte[])seed.Clone();
            switch (random.Next(5))
            {
                case 0:
                    for (int flips = random.Next(1, 8); flips > 0; flips--)
                    {
                        bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    return bytes;
                case 1:
                    return bytes.Take(random.Next(bytes.Length)).ToArray();
                case 2:
                {
                    // A varint field rewritten to claim an enormous length (10 bytes of 0xFF ... 0x01).
                    int at = random.Next(bytes.Length);
                    var list = bytes.ToList();
                    list.InsertRange(at, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 });
                    return list.ToArray();
                }

                case 3:
                {
                    int at = random.Next(bytes.Length);
                    bytes[at] = 0x7F; // a plausible-looking length byte in a random place
                    if (at + 1 < bytes.Length)
                    {
                        bytes[at + 1] = (byte)random.Next(256);
                    }

                    return bytes;
                }

                default:
                {
                    var garbage = new byte[random.Next(1, 64)];
                    random.NextBytes(garbage);
                    var list = bytes.ToList();
                    list.InsertRange(random.Next(bytes.Length), garbage);
                    return list.ToArray();
                }
            }
        }

        [Fact]
        public void Deeply_nested_types_are_rejected_not_a_stack_overflow()
        {
            // sequence(sequence(...(tensor)...)) 100,000 levels deep: deep enough to overflow a recursive reader's stack.
            byte[] type = NestedSequenceType(100_000);
            var model = new MemoryStream();
            new ProtoWriter(model).Int(1, 8).Message(7, g => g.Message(12, v => v.String(1, "y").Bytes(2, type)));
            string? rejection = Read(model.ToArray());
            Assert.Contains("nested", rejection);
        }

        /// <summary>TypeProto bytes nested <paramref name="depth"/> sequences deep, written outside-in in one pass.</summary>
        private static byte[] NestedSequenceType(int depth)
        {
            byte[] tensor = { 0x0A, 0x02, 0x08, 0x01 }; // TypeProto { tensor_type { elem_type: FLOAT } }
            var typeSizes = new long[depth + 1];  // size of the TypeProto at each level, innermost first
            var bodySizes = new long[depth + 1];  // size of the Sequence message wrapping level - 1
            typeSizes[0] = tensor.Length;
            for (int level = 1; level <= depth; level++)
            {
                bodySizes[level] = 1 + VarintLength(typeSizes[level - 1]) + typeSizes[level - 1];
                typeSizes[level] = 1 + VarintLength(bodySizes[level]) + bodySizes[level];
            }

            var stream = new MemoryStream((int)typeSizes[depth]);
            var writer = new ProtoWriter(stream);
            for (int level = depth; level >= 1; level--)
            {
                writer.Tag(4, 2).Varint((ulong)bodySizes[level]);     // TypeProto.sequence_type
                writer.Tag(1, 2).Varint((ulong)typeSizes[level - 1]); // Sequence.elem_type
            }

            stream.Write(tensor);
            return stream.ToArray();
        }

        private static int VarintLength(long value)
        {
            int length = 1;
            while (value >= 0x80)
            {
                value >>= 7;
                length++;
            }

            return length;
        }

        [Fact]
        public void A_multi_gigabyte_sparse_file_is_rejected_quickly()
        {
            string path = Path.Combine(Path.GetTempPath(), "modelsdk-sparse-" + Guid.NewGuid() + ".onnx");
            try
            {
                using (FileStream file = File.Create(path))
                {
                    file.SetLength(4L * 1024 * 1024 * 1024); // 4 GB of zeros (sparse: no disk used)
                }

                var (run, _, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path) });
                Assert.Null(run.Results.Single().Exception);
                Assert.Equal("MSDK0001", Assert.Single(diagnostics).Id);
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void Non_onnx_files_are_rejected()
        {
            byte[][] files =
            {
                new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 },   // PNG header
                System.Text.Encoding.UTF8.GetBytes("{\"not\": \"a model\"}"),
                new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x14, 0, 0, 0 },                          // ZIP header
                new byte[1024],                                                                 // zeros
            };
            foreach (byte[] file in files)
            {
                Assert.NotNull(Read(file));
            }
        }

        [Fact]
        public void Empty_and_colliding_names_still_give_valid_members()
        {
            var model = new MemoryStream();
            new ProtoWriter(model).Int(1, 8).Message(7, g =>
            {
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "", 1));
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "@", 1));
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "x", 1));
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "X", 1));
                g.Message(11, v => ProtoWriter.FloatTensorValue(v, "request", 1));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "", 1));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "\u202Eevil", 1));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "None", 1));
                g.Message(12, v => ProtoWriter.FloatTensorValue(v, "all", 1));
            });
            string path = Path.Combine(Path.GetTempPath(), "modelsdk-names-" + Guid.NewGuid() + ".onnx");
            File.WriteAllBytes(path, model.ToArray());
            try
            {
                var (run, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(path, "Names") });
                Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics));
                string code = run.Results.Single().GeneratedSources.Single().SourceText.ToString();
                Assert.DoesNotContain('\u202E', code); // a bidi override never reaches the source, even escaped names show as \u202E
                INamedTypeSymbol result = output.GetTypeByMetadataName("UserProject.Names+Result")!;
                Assert.Equal(new[] { "Output0", "Evil", "None2", "All2" },
                    result.GetMembers().OfType<IPropertySymbol>().Select(p => p.Name).ToArray());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void A_model_designed_to_inject_code_injects_nothing()
        {
            var (run, output, diagnostics) = GeneratorHarness.Run(new[] { new ModelItem(GeneratorHarness.Model("hostile_names"), null, "Hostile") });
            Assert.True(diagnostics.IsEmpty, GeneratorHarness.Describe(diagnostics)); // also: every doc comment is well-formed XML

            SyntaxTree tree = run.GeneratedTrees.Single();
            SyntaxNode root = tree.GetRoot();

            // Only the types ModelSdk generates: nothing named Injected, no extra declarations.
            string[] types = root.DescendantNodes().OfType<BaseTypeDeclarationSyntax>().Select(t => t.Identifier.ValueText).ToArray();
            Assert.DoesNotContain("Injected", types);
            Assert.Equal(new[] { "HostileNames", "Inputs", "Outputs", "Request", "Queue", "Result", "OwnedResult" },
                root.DescendantNodes().OfType<BaseTypeDeclarationSyntax>().Where(t => t.Parent is ClassDeclarationSyntax { Identifier.ValueText: "HostileNames" } || t.Parent is BaseNamespaceDeclarationSyntax)
                    .Select(t => t.Identifier.ValueText).Distinct().OrderBy(n => n == "HostileNames" ? 0 : 1).ToArray());

            // No directive but the one we emit: the model's "#error" lines stayed inside comments.
            Assert.Equal(new[] { "#nullable enable" },
                root.DescendantTrivia().Where(t => t.IsDirective).Select(t => t.ToString().Trim()).ToArray());

            // The doc strings are there, escaped, and the original names stay visible in the docs.
            string code = tree.ToString();
            Assert.Contains("&lt;/summary&gt;", code);
            Assert.Contains("<c>x::y/z.w</c>", code);
            Assert.Contains("<c>ünï cødé</c>", code);
            Assert.DoesNotContain(root.DescendantTrivia(), t => t.IsKind(SyntaxKind.MultiLineCommentTrivia));
            Assert.NotNull(output.GetTypeByMetadataName("Hostile.HostileNames"));
        }
    }
}
