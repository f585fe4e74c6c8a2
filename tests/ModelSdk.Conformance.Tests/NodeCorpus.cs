using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>
    /// ONNX's backend test corpus, "node" suite: one directory per test with <c>model.onnx</c> and
    /// <c>test_data_set_N/{input_i,output_i}.pb</c>; each model has a class generated at build time.
    /// </summary>
    internal static class NodeCorpus
    {
        /// <summary>Namespace of the generated classes (the OnnxModel items' Namespace in the .csproj).</summary>
        public const string Namespace = "ModelSdk.Conformance.Tests.Node";

        /// <summary>ONNX's backend-test tolerances for floating-point outputs (other types must match exactly).</summary>
        public const double Rtol = 1e-3, Atol = 1e-7;

        /// <summary>
        /// Runs of each data set on one request (or session). Repeated runs exercise a request's reuse of its
        /// bindings, and leave a model with random outputs (unseeded Bernoulli: 0.6% per run) no real chance
        /// of reproducing ONNX's recorded sample every time and so of passing by luck.
        /// </summary>
        public const int RunsPerDataSet = 3;

        /// <summary>The corpus directory the project was built against.</summary>
        public static readonly string Directory = typeof(NodeCorpus).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "OnnxNodeTestsDir").Value!;

        private static readonly Lazy<string[]> Names = new Lazy<string[]>(() =>
            System.IO.Directory.Exists(Directory)
                ? System.IO.Directory.GetDirectories(Directory)
                    .Where(d => File.Exists(Path.Combine(d, "model.onnx")))
                    .Select(d => Path.GetFileName(d))
                    .OrderBy(n => n, StringComparer.Ordinal)
                    .ToArray()
                : Array.Empty<string>());

        private static readonly Lazy<IReadOnlyDictionary<string, ExpectedFailure>> Failures = new Lazy<IReadOnlyDictionary<string, ExpectedFailure>>(ReadExpectedFailures);

        public static bool IsInstalled => System.IO.Directory.Exists(Directory);

        public static string NotInstalledReason =>
            $"ONNX's backend test corpus is not installed ({Directory} is missing): apt-get install libonnx-testdata, then rebuild.";

        /// <summary>Every test of the suite, by directory name (e.g. <c>test_abs</c>).</summary>
        public static IReadOnlyList<string> TestNames => Names.Value;

        /// <summary>Tests ONNX Runtime itself fails, and why: from expected-failures.txt.</summary>
        public static IReadOnlyDictionary<string, ExpectedFailure> ExpectedFailures => Failures.Value;

        public static string ModelPath(string test) => Path.Combine(Directory, test, "model.onnx");

        /// <summary>The generated class's name; mirrors the ClassName rule of the OnnxModel items in the .csproj.</summary>
        public static string ClassName(string test)
        {
            string name = Regex.Replace(test, "[^A-Za-z0-9_]", "_");
            return char.ToUpperInvariant(name[0]) + name.Substring(1);
        }

        /// <summary>The class generated for a test's model, or null when there is none.</summary>
        public static Type? GeneratedClass(string test) => typeof(NodeCorpus).Assembly.GetType(Namespace + "." + ClassName(test));

        /// <summary>All generated model classes of the corpus.</summary>
        public static IEnumerable<Type> GeneratedClasses() =>
            typeof(NodeCorpus).Assembly.GetTypes().Where(t => t.Namespace == Namespace && typeof(CompiledModel).IsAssignableFrom(t));

        /// <summary>The generated class's static <c>ModelSignature</c>.</summary>
        public static ModelSignature Signature(Type generated) =>
            (ModelSignature)generated.GetProperty("ModelSignature", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

        /// <summary>
        /// False when the test's model has an input or output ModelSdk can't express (sequence, optional):
        /// its class exists but can't run it. True when it has no class, so that its tests fail and say so.
        /// </summary>
        public static bool ModelSdkCanExpress(string test)
        {
            Type? generated = GeneratedClass(test);
            if (generated is null)
            {
                return true;
            }

            ModelSignature signature = Signature(generated);
            return signature.Inputs.All(i => i.IsSupported) && signature.Outputs.All(o => o.IsSupported);
        }

        /// <summary>Loads a test's model by path through its generated class's <c>Load(string, ModelOptions?)</c>.</summary>
        public static CompiledModel Load(string test)
        {
            Type type = GeneratedClass(test) ?? throw new InvalidOperationException(
                $"No class was generated for {test} (expected {Namespace}.{ClassName(test)}): was the project built without the corpus? Rebuild it.");
            MethodInfo load = type.GetMethod("Load", BindingFlags.Public | BindingFlags.Static, new[] { typeof(string), typeof(ModelOptions) })
                ?? throw new InvalidOperationException($"{type} has no public static Load(string, ModelOptions?).");

            // A delegate rather than Invoke: exceptions arrive as thrown, not wrapped in TargetInvocationException.
            return load.CreateDelegate<Func<string, ModelOptions?, CompiledModel>>()(ModelPath(test), null);
        }

        /// <summary>A test's data sets (most tests have one), in order.</summary>
        public static IReadOnlyList<DataSet> DataSets(string test) =>
            System.IO.Directory.GetDirectories(Path.Combine(Directory, test), "test_data_set_*")
                .OrderBy(d => Index(d, "test_data_set_"))
                .Select(d => new DataSet(Path.GetFileName(d), Files(d, "input_"), Files(d, "output_")))
                .ToArray();

        private static string[] Files(string directory, string prefix) =>
            System.IO.Directory.GetFiles(directory, prefix + "*.pb").OrderBy(f => Index(f, prefix)).ToArray();

        private static int Index(string path, string prefix) =>
            int.Parse(Path.GetFileNameWithoutExtension(path).Substring(prefix.Length), System.Globalization.CultureInfo.InvariantCulture);

        // One line per test: its name, a substring of ONNX Runtime's failure, optionally " | " and a substring
        // of ModelSdk's (when ModelSdk stops the run first); '#' starts a comment line.
        private static IReadOnlyDictionary<string, ExpectedFailure> ReadExpectedFailures()
        {
            var failures = new Dictionary<string, ExpectedFailure>(StringComparer.Ordinal);
            string path = Path.Combine(AppContext.BaseDirectory, "expected-failures.txt");
            foreach (string raw in File.ReadAllLines(path))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                string[] parts = line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 2)
                {
                    throw new FormatException($"expected-failures.txt: '{line}' gives no reason (a substring of ONNX Runtime's error).");
                }

                string[] reasons = parts[1].Split(" | ");
                var failure = new ExpectedFailure(reasons[0].Trim(), reasons[^1].Trim());
                if (reasons.Length > 2 || failure.OnnxRuntimeReason.Length == 0 || failure.ModelSdkReason.Length == 0)
                {
                    throw new FormatException($"expected-failures.txt: '{line}' should be: name, reason, optionally \" | \" and ModelSdk's reason.");
                }

                if (!failures.TryAdd(parts[0], failure))
                {
                    throw new FormatException($"expected-failures.txt lists {parts[0]} twice.");
                }
            }

            return failures;
        }
    }

    /// <summary>Why a listed test fails: substrings of ONNX Runtime's failure and of ModelSdk's (usually the same).</summary>
    internal sealed record ExpectedFailure(string OnnxRuntimeReason, string ModelSdkReason);

    /// <summary>One <c>test_data_set_N</c> directory: input and output files in index order.</summary>
    internal sealed record DataSet(string Name, string[] Inputs, string[] Outputs);
}
