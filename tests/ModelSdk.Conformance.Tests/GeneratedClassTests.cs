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
        public void Sequence_and_optional_values_get_members_that_throw_NotSupportedException(string test)
        {
            Type type = NodeCorpus.GeneratedClass(test) ?? throw new InvalidOperationException($"No class was generated for {test}.");
            ModelSignature signature = NodeCorpus.Signature(type);
            ModelValueKinds kinds = ModelValueKinds.Read(NodeCorpus.ModelPath(test));
            AssertOnlyTensorsSupported(kinds.Inputs, signature.Inputs);
            AssertOnlyTensorsSupported(kinds.Outputs, signature.Outputs);

            using CompiledModel model = NodeCorpus.Load(test);
            TensorInfo? unsupportedInput = signature.Inputs.FirstOrDefault(i => !i.IsSupported);
            if (unsupportedInput != null)
            {
                // The members that take the inputs can't take this one: each throws, whatever the other arguments.
                foreach ((object target, MethodInfo member) in InputTakingMembers(type, model))
                {
                    Exception? thrown = Record.Exception(() => CallWithDefaultArguments(member, target));
                    if (thrown is not NotSupportedException)
                    {
                        Assert.Fail($"{member.DeclaringType!.Name}.{member.Name} threw {thrown?.ToString() ?? "nothing"}; expected NotSupportedException.");
                    }

                    AssertNamesMsdk0003(thrown.Message, unsupportedInput.Name);
                }
            }
            else
            {
                // Every input is a tensor: the model runs, and only reading an output it can't express throws.
                using InferRequest request = model.CreateRequest();
                string[] inputs = NodeCorpus.DataSets(test)[0].Inputs;
                for (int i = 0; i < inputs.Length; i++)
                {
                    request.CopyInput(i, OnnxTensorFile.Read(inputs[i]).ToInputArg());
                }

                request.Run();
                for (int i = 0; i < signature.Outputs.Count; i++)
                {
                    if (!signature.Outputs[i].IsSupported)
                    {
                        int output = i;
                        var ex = Assert.Throws<NotSupportedException>(() => request.GetOutput(output).Bytes.Length);
                        AssertNamesMsdk0003(ex.Message, signature.Outputs[i].Name);
                    }
                }
            }

            // OwnedResult (like the synchronous Result, a ref struct reflection can't make) has an object-typed property
            // per output it can't express; each throws before reading anything, so an empty one serves.
            object result = Activator.CreateInstance(type.GetNestedType("OwnedResult")!, nonPublic: true)!;
            PropertyInfo[] untyped = result.GetType().GetProperties().Where(p => p.PropertyType == typeof(object)).ToArray();
            string[] unsupportedOutputs = signature.Outputs.Where(o => !o.IsSupported).Select(o => o.Name).ToArray();
            Assert.Equal(unsupportedOutputs.Length, untyped.Length);
            string[] messages = untyped
                .Select(p => Assert.Throws<NotSupportedException>(() => p.GetMethod!.Invoke(result, BindingFlags.DoNotWrapExceptions, null, null, null)).Message)
                .ToArray();
            foreach (string name in unsupportedOutputs)
            {
                Assert.Single(messages, m => m.Contains($"'{name}'", StringComparison.Ordinal) && m.Contains("MSDK0003", StringComparison.Ordinal));
            }
        }

        /// <summary>Each value of the signature is supported exactly when the model file makes it a tensor; the others carry their ONNX type.</summary>
        private static void AssertOnlyTensorsSupported(IReadOnlyDictionary<string, OnnxValueType> kinds, IReadOnlyList<TensorInfo> values)
        {
            foreach (TensorInfo value in values)
            {
                OnnxValueType kind = kinds[value.Name];
                Assert.True(value.IsSupported == (kind == OnnxValueType.ONNX_TYPE_TENSOR), $"'{value.Name}' is a {kind}, but IsSupported is {value.IsSupported}.");
                if (!value.IsSupported)
                {
                    string prefix = kind switch
                    {
                        OnnxValueType.ONNX_TYPE_SEQUENCE => "seq(",
                        OnnxValueType.ONNX_TYPE_OPTIONAL => "optional(",
                        _ => kind.ToString(),
                    };
                    Assert.StartsWith(prefix, value.TypeDescription, StringComparison.Ordinal);
                }
            }
        }

        private static void AssertNamesMsdk0003(string message, string name)
        {
            Assert.Contains($"'{name}'", message, StringComparison.Ordinal);
            Assert.Contains("MSDK0003", message, StringComparison.Ordinal);
        }

        /// <summary>The generated members that run the model on typed inputs, with the instances to call them on.</summary>
        private static IEnumerable<(object Target, MethodInfo Member)> InputTakingMembers(Type type, CompiledModel model)
        {
            const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
            object request = type.GetMethod("CreateRequest", Declared)!.Invoke(model, null)!;
            var queue = (IDisposable)type.GetMethod("CreateQueue", Declared)!.Invoke(model, new object[] { 1 })!;
            try
            {
                foreach ((object target, string name) in new[] { (model, "Run"), (model, "RunAsync"), (request, "Infer"), (request, "SetInputs"), (request, "StartAsync"), (queue, "StartAsync") })
                {
                    yield return (target, target.GetType().GetMethods(Declared).Single(m => m.Name == name));
                }
            }
            finally
            {
                queue.Dispose(); // the model's Dispose releases the request
            }
        }

        /// <summary>
        /// Calls an instance method with default arguments (reflection's Invoke can't pass ref structs such as
        /// TensorInput) and, when it returns a task, waits for it: asynchronous members may fail through it.
        /// </summary>
        private static void CallWithDefaultArguments(MethodInfo method, object target)
        {
            var call = new DynamicMethod(method.Name, typeof(object), new[] { typeof(object) }, typeof(GeneratedClassTests).Module);
            ILGenerator il = call.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Castclass, method.DeclaringType!);
            foreach (ParameterInfo parameter in method.GetParameters())
            {
                il.Emit(OpCodes.Ldloc, il.DeclareLocal(parameter.ParameterType)); // locals start zeroed: default(T)
            }

            il.Emit(OpCodes.Callvirt, method);
            if (method.ReturnType == typeof(void))
            {
                il.Emit(OpCodes.Ldnull);
            }
            else if (method.ReturnType.IsByRefLike)
            {
                il.Emit(OpCodes.Pop); // a synchronous Result (a ref struct) can't be boxed
                il.Emit(OpCodes.Ldnull);
            }
            else if (method.ReturnType.IsValueType)
            {
                il.Emit(OpCodes.Box, method.ReturnType);
            }

            il.Emit(OpCodes.Ret);
            object? returned = call.CreateDelegate<Func<object, object?>>()(target);

            // Task, ValueTask and ValueTask<T> (boxed) all convert to a Task with AsTask, or are one.
            var task = returned as Task ?? returned?.GetType().GetMethod("AsTask", Type.EmptyTypes)?.Invoke(returned, null) as Task;
            task?.GetAwaiter().GetResult();
        }
    }
}
