using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Conformance.Tests
{
    /// <summary>The generated classes: one per corpus model, including the models ModelSdk can only partly express.</summary>
    public class GeneratedClassTests
    {
        /// <summary>Models with a sequence or optional input or output, going by the model files rather than the generator.</summary>
        public static TheoryData<string> ModelsWithSequencesOrOptionals =>
            new TheoryData<string>(NodeCorpus.TestNames.Where(t => !ModelValueKinds.Read(NodeCorpus.ModelPath(t)).AllTensors));

        [CorpusFact]
        public void Every_corpus_model_has_its_generated_class()
        {
            string[] missing = NodeCorpus.TestNames.Where(t => NodeCorpus.GeneratedClass(t) is null).ToArray();
            Assert.True(missing.Length == 0, $"No class was generated for {missing.Length} corpus models: {string.Join(", ", missing)}");
            Assert.Equal(NodeCorpus.TestNames.Count, NodeCorpus.GeneratedClasses().Count());
        }

        [CorpusTheory]
        [MemberData(nameof(ModelsWithSequencesOrOptionals))]
        public void Sequence_and_optional_values_get_typed_members(string test)
        {
            Type type = NodeCorpus.GeneratedClass(test) ?? throw new InvalidOperationException($"No class was generated for {test}.");
            ModelSignature signature = NodeCorpus.Signature(type);
            ModelValueKinds kinds = ModelValueKinds.Read(NodeCorpus.ModelPath(test));
            AssertKinds(kinds.Inputs, signature.Inputs);
            AssertKinds(kinds.Outputs, signature.Outputs);

            // OwnedResult has one typed property per output: sequences as OnnxSequence<...>, optionals as what they hold; none is object.
            PropertyInfo[] properties = type.GetNestedType("OwnedResult")!.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);
            Assert.DoesNotContain(properties, p => p.PropertyType == typeof(object));
            Assert.Equal(
                signature.Outputs.Count(o => o.Kind != OnnxValueKind.Tensor),
                properties.Count(p => p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() is Type d && (d == typeof(OnnxSequence<>) || d == typeof(OnnxTensor<>))));
        }

        /// <summary>Each value of the signature carries the kind the model file gives it, and ModelSdk passes every one the corpus has.</summary>
        private static void AssertKinds(IReadOnlyDictionary<string, OnnxValueType> kinds, IReadOnlyList<TensorInfo> values)
        {
            foreach (TensorInfo value in values)
            {
                OnnxValueType kind = kinds[value.Name];
                Assert.Equal((int)kind, (int)value.Kind); // OnnxValueKind has ONNX Runtime's ONNXType values
                Assert.True(value.IsSupported, $"'{value.Name}' ({value.TypeDescription}) is not supported.");
                string prefix = kind switch
                {
                    OnnxValueType.ONNX_TYPE_SEQUENCE => "seq(",
                    OnnxValueType.ONNX_TYPE_OPTIONAL => "optional(",
                    _ => "tensor(",
                };
                Assert.StartsWith(prefix, value.TypeDescription, StringComparison.Ordinal);
            }
        }
    }
}
