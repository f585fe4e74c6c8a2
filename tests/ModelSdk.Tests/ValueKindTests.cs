using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelSdk.TestSupport;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>
    /// Sequences, maps and optionals through generated classes, on real ONNX Runtime: a scikit-learn classifier's
    /// ZipMap (checked against scikit-learn's own predict_proba), sequence and map inputs, optional inputs and outputs.
    /// </summary>
    public class ValueKindTests
    {
        private static float[] IrisRows => TestData.Input("iris_classifier", 0).As<float>();

        [Fact]
        public void ZipMap_output_is_a_typed_list_of_maps_matching_scikit_learn()
        {
            using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
            float[] rows = IrisRows;
            IrisClassifier.Result result = model.Run(rows, floatInputDim0: rows.Length / 4);
            OnnxSequence<OnnxMap<long, float>> probabilities = result.OutputProbability;
            long[] expectedLabels = TestData.Output("iris_classifier", 0).As<long>();
            float[] expected = TestData.Output("iris_classifier", 1).As<float>(); // scikit-learn's predict_proba, [5, 3]

            Assert.Equal(expectedLabels, result.OutputLabel.ToArray());
            Assert.Equal(5, probabilities.Count);
            for (int row = 0; row < 5; row++)
            {
                OnnxMap<long, float> map = probabilities[row];
                Assert.Equal(new long[] { 0, 1, 2 }, map.Keys.ToArray());
                for (int c = 0; c < 3; c++)
                {
                    Assert.InRange(map[c], expected[row * 3 + c] - 1e-5f, expected[row * 3 + c] + 1e-5f);
                }

                // As an IReadOnlyDictionary, the way any .NET code reads it.
                IReadOnlyDictionary<long, float> dictionary = map;
                Assert.Equal(expectedLabels[row], dictionary.MaxBy(e => e.Value).Key);
                Assert.False(dictionary.ContainsKey(7));
                Assert.Throws<KeyNotFoundException>(() => dictionary[7]);
            }
        }

        [Fact]
        public void ZipMap_with_string_labels_reads_as_maps_from_strings()
        {
            using IrisClassifierStrings model = IrisClassifierStrings.Load(TestData.Model("iris_classifier_strings"));
            float[] rows = IrisRows;
            IrisClassifierStrings.Result result = model.Run(rows, floatInputDim0: 5);
            string[] expectedLabels = TestData.Output("iris_classifier_strings", 0).Strings!;
            float[] expected = TestData.Output("iris_classifier_strings", 1).As<float>();
            string[] names = { "setosa", "versicolor", "virginica" };

            Assert.Equal(expectedLabels, result.OutputLabel.ToArray());
            for (int row = 0; row < 5; row++)
            {
                OnnxMap<string, float> map = result.OutputProbability[row];
                for (int c = 0; c < 3; c++)
                {
                    Assert.InRange(map[names[c]], expected[row * 3 + c] - 1e-5f, expected[row * 3 + c] + 1e-5f);
                }
            }
        }

        [Fact]
        public void Same_answers_as_raw_OnnxRuntime_GetValue_path()
        {
            float[] rows = IrisRows;
            using var session = new InferenceSession(TestData.Model("iris_classifier"));
            using var input = OrtValue.CreateTensorValueFromMemory(rows, new long[] { 5, 4 });
            using IDisposableReadOnlyCollection<OrtValue> raw = session.Run(new RunOptions(), new[] { "float_input" }, new[] { input }, session.OutputNames);
            using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
            OnnxSequence<OnnxMap<long, float>> ours = model.Run(rows, floatInputDim0: 5).OutputProbability;

            OrtValue sequence = raw[1];
            Assert.Equal(5, sequence.GetValueCount());
            for (int row = 0; row < 5; row++)
            {
                using OrtValue map = sequence.GetValue(row, OrtAllocator.DefaultInstance);
                using OrtValue keys = map.GetValue(0, OrtAllocator.DefaultInstance);
                using OrtValue values = map.GetValue(1, OrtAllocator.DefaultInstance);
                Assert.Equal(keys.GetTensorDataAsSpan<long>().ToArray(), ours[row].Keys.ToArray());
                Assert.Equal(values.GetTensorDataAsSpan<float>().ToArray(), ours[row].Values.ToArray()); // bit for bit
            }
        }

        [Fact]
        public async Task RunAsync_result_owns_its_maps_and_serializes_them()
        {
            using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
            float[] rows = IrisRows;
            IrisClassifier.OwnedResult result = await model.RunAsync(rows, floatInputDim0: 5);
            OnnxSequence<OnnxMap<long, float>> probabilities = result.OutputProbability;
            string json = JsonSerializer.Serialize(result);
            result.Dispose();

            Assert.Equal(5, probabilities.Count); // decoded objects belong to the caller: still readable
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement first = document.RootElement.GetProperty("OutputProbability")[0];
            Assert.Equal(probabilities[0][1], first.GetProperty("1").GetSingle());
            Assert.Throws<ObjectDisposedException>(() => result.OutputProbability);
        }

        [Fact]
        public void Reading_a_map_output_after_the_next_run_throws_but_decoded_maps_stay()
        {
            using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
            using IrisClassifier.Request request = model.CreateRequest();
            float[] rows = IrisRows;
            request.Infer(rows, floatInputDim0: 5);
            OnnxSequence<OnnxMap<long, float>> first = request.Result.OutputProbability;
            float before = first[0][0];
            request.Infer(rows.AsSpan(4, 4).ToArray(), floatInputDim0: 1);

            Assert.Single(request.Result.OutputProbability);
            Assert.Equal(before, first[0][0]);
        }

        [Fact]
        public void Sequence_input_takes_a_list_of_tensors()
        {
            using SequenceInput model = SequenceInput.Load(TestData.Model("sequence_input"));
            var parts = new List<OnnxTensor<float>>
            {
                new OnnxTensor<float>(new[] { 1f, 2f }),
                new OnnxTensor<float>(new[] { 3f }),
                new OnnxTensor<float>(new[] { 4f, 5f, 6f }),
            };
            SequenceInput.Result result = model.Run(parts);

            Assert.Equal(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, result.Joined.ToArray());
            Assert.Equal(3L, result.Count[0]);
            parts[0].ToArray(); // the caller's tensors are untouched and still theirs
        }

        [Fact]
        public void Sequence_input_works_asynchronously_and_from_many_threads()
        {
            using SequenceInput model = SequenceInput.Load(TestData.Model("sequence_input"));
            Stress.Bounded(async () =>
            {
                await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
                {
                    for (int i = 0; i < 50; i++)
                    {
                        var parts = Enumerable.Range(0, 1 + ((t + i) % 4)).Select(k => new OnnxTensor<float>(new[] { (float)(t * 1000 + i), k })).ToArray();
                        using SequenceInput.OwnedResult result = await model.RunAsync(parts);
                        Assert.Equal(parts.Length, result.Count[0]);
                        Assert.Equal(parts.SelectMany(p => p.ToArray()).ToArray(), result.Joined.ToArray());
                    }
                })));
            }, TimeSpan.FromSeconds(60));
        }

        [Fact]
        public void Bad_sequence_inputs_get_clear_errors_before_native_code()
        {
            using SequenceInput model = SequenceInput.Load(TestData.Model("sequence_input"));
            var empty = Assert.Throws<ArgumentException>(() => model.Run(Array.Empty<OnnxTensor<float>>()));
            Assert.Contains("'parts'", empty.Message);
            Assert.Contains("empty sequence", empty.Message);
            var none = Assert.Throws<ArgumentNullException>(() => model.Run(null!));
            Assert.Contains("'parts'", none.Message);
            var nullElement = Assert.Throws<ArgumentException>(() => model.Run(new OnnxTensor<float>[] { new(new[] { 1f }), null! }));
            Assert.Contains("Element 1", nullElement.Message);
            Assert.Throws<ArgumentException>(() => new OnnxTensor<float>(new[] { 1f, 2f, 3f }, 2, 2));

            // Untyped, with the wrong element type: named, with what it takes.
            using InferRequest request = model.CreateRequest().Untyped;
            var wrong = Assert.Throws<ArgumentException>(() => request.CopyInput(0, InputArg.FromValue(new[] { new OnnxTensor<int>(new[] { 1 }) })));
            Assert.Contains("OnnxTensor<Single>", wrong.Message);
            var tensor = Assert.Throws<ArgumentException>(() => request.CopyInput(0, new TensorInput<float>(new[] { 1f })));
            Assert.Contains("seq(tensor(float))", tensor.Message);
        }

        [Fact]
        public void Map_inputs_take_dictionaries()
        {
            using MapInput model = MapInput.Load(TestData.Model("map_input"));
            var features = new Dictionary<string, float> { ["weight"] = 70.5f, ["height"] = 1.8f, ["shoe"] = 44f };
            var codes = new Dictionary<long, float> { [40] = 4f, [10] = 1f };
            MapInput.Result result = model.Run(features, codes);

            Assert.Equal(new[] { 1.8f, 70.5f, 0f }, result.Vector.ToArray());
            Assert.Equal(new[] { 1f, 0f, 0f, 4f }, result.CodeVector.ToArray());

            var wrong = Assert.Throws<ArgumentException>(() =>
            {
                using InferRequest request = model.CreateRequest().Untyped;
                request.CopyInput(0, InputArg.FromValue(new Dictionary<string, double> { ["age"] = 3 }));
            });
            Assert.Contains("IReadOnlyDictionary<String, Single>", wrong.Message);
        }

        [Fact]
        public void Optional_input_and_output_are_null_when_absent()
        {
            using OptionalValues model = OptionalValues.Load(TestData.Model("optional_values"));
            using OptionalValues.Request request = model.CreateRequest();

            // Present, absent, present again on one request: the absent run must not see the earlier binding.
            OptionalValues.Result present = request.Infer(new OnnxTensor<float>(new[] { 1f, 2f, 3f }));
            Assert.True(present.HasValue[0]);
            Assert.Equal(new[] { 1f, 2f, 3f }, present.Same!.ToArray());

            OptionalValues.Result absent = request.Infer(null);
            Assert.False(absent.HasValue[0]);
            Assert.Null(absent.Same);

            OptionalValues.Result again = model.Run(new OnnxTensor<float>(new[] { 4f, 5f, 6f }));
            Assert.True(again.HasValue[0]);
            Assert.Equal(new[] { 4f, 5f, 6f }, again.Same!.ToArray());
            Assert.False(model.Run(null).HasValue[0]);
        }

        [Fact]
        public void Classifier_helpers_read_the_ZipMap_with_the_ZipMaps_labels()
        {
            Assert.Equal(new long[] { 0, 1, 2 }, IrisClassifier.Labels);
            using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
            IrisClassifier.Result result = model.Run(IrisRows, floatInputDim0: 5);
            long[] expectedLabels = TestData.Output("iris_classifier", 0).As<long>();
            float[] expected = TestData.Output("iris_classifier", 1).As<float>(); // scikit-learn's predict_proba
            var top = new Prediction<long>[3];
            for (int row = 0; row < 5; row++)
            {
                Prediction<long> best = result.Best(row);
                Assert.Equal(expectedLabels[row], best.Label);
                Assert.Equal((int)expectedLabels[row], best.Index);
                Assert.InRange(best.Score, expected[row * 3 + best.Index] - 1e-5f, expected[row * 3 + best.Index] + 1e-5f);
                Assert.Null(best.Name);

                Assert.Equal(3, result.TopK(top, row));
                long[] order = Enumerable.Range(0, 3).OrderByDescending(c => expected[row * 3 + c]).Select(c => (long)c).ToArray();
                Assert.Equal(order, top.Select(p => p.Label).ToArray());
                Assert.Equal(best, top[0]);
                Assert.Equal(top.Take(2), result.TopK(2, row));
            }

            ArgumentOutOfRangeException? outOfRange = null;
            try
            {
                result.Best(5); // a ref struct: no lambda for Assert.Throws
            }
            catch (ArgumentOutOfRangeException e)
            {
                outOfRange = e;
            }

            Assert.Contains("5 row(s)", outOfRange?.Message);
        }

        [Fact]
        public void Classifier_helpers_allocate_nothing_once_the_run_is_decoded()
        {
            using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
            float[] rows = IrisRows;
            var top = new Prediction<long>[2];
            IrisClassifier.Result result = model.Run(rows, floatInputDim0: 5);
            result.Best(0); // decodes the ZipMap once for this run
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                result.Best(i % 5);
                result.TopK(top, i % 5);
            }

            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        [Fact]
        public void Classifier_with_string_labels_and_a_tensor_classifier_from_metadata_labels()
        {
            Assert.Equal(new[] { "setosa", "versicolor", "virginica" }, IrisClassifierStrings.Labels);
            using IrisClassifierStrings strings = IrisClassifierStrings.Load(TestData.Model("iris_classifier_strings"));
            IrisClassifierStrings.Result result = strings.Run(IrisRows, floatInputDim0: 5);
            string[] expectedLabels = TestData.Output("iris_classifier_strings", 0).Strings!;
            for (int row = 0; row < 5; row++)
            {
                Assert.Equal(expectedLabels[row], result.Best(row).Label);
            }

            // digits: labels "0,...,9" in its metadata, probabilities float [1, 10]: the helpers read the tensor.
            Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), Digits.Labels);
            using Digits digits = Digits.Load(TestData.Model("digits"));
            Digits.Result d = digits.Run(TestData.Input("digits", 0).As<float>());
            Prediction<string> best = d.Best();
            Assert.Equal(d.Label[0].ToString(), best.Label);
            Assert.Equal(d.Probabilities[(int)d.Label[0]], best.Score);
            Prediction<string>[] top3 = d.TopK(3);
            Assert.Equal(best, top3[0]);
            Assert.True(top3[0].Score >= top3[1].Score && top3[1].Score >= top3[2].Score);
        }

        [Fact]
        public void Dropped_results_holding_ONNX_Runtimes_sequences_are_released_without_Dispose()
        {
            // Before results decoded their sequences on completion: working set 118 -> 363 MB after these 2,000 dropped
            // results and a full GC (the native maps, unseen by the GC, piled up between collections).
            Lifetime.Bounded(async () =>
            {
                using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
                float[] rows = Enumerable.Repeat(IrisRows, 200).SelectMany(r => r).ToArray(); // 1,000 rows: 1,000 native maps a run
                using (IrisClassifier.OwnedResult first = await model.RunAsync(rows, floatInputDim0: 1000))
                {
                    Assert.Equal(1000, first.OutputProbability.Count);
                }

                Lifetime.FullGc();
                long steadyMb = Lifetime.WorkingSetMb();
                for (int i = 0; i < 2000; i++)
                {
                    IrisClassifier.OwnedResult dropped = await model.RunAsync(rows, floatInputDim0: 1000);
                    if (i % 2 == 0)
                    {
                        _ = dropped.OutputProbability[999]; // half decoded, half left as ONNX Runtime's value; none disposed
                    }
                }

                int held = model.RequestsHeld;
                Lifetime.FullGc();
                long afterMb = Lifetime.WorkingSetMb();
                Assert.True(held <= Lifetime.RequestBound(1), $"{held} requests held");
                Assert.True(afterMb <= 2 * steadyMb + 32, $"working set {steadyMb} -> {afterMb} MB after 2,000 dropped results");
            }, TimeSpan.FromSeconds(120));
        }

        [Fact]
        public void Many_threads_reading_one_results_map_output_decode_it_once()
        {
            Lifetime.Bounded(async () =>
            {
                using IrisClassifier model = IrisClassifier.Load(TestData.Model("iris_classifier"));
                using IrisClassifier.OwnedResult result = await model.RunAsync(IrisRows, floatInputDim0: 5);
                using var start = new System.Threading.Barrier(8);
                OnnxSequence<OnnxMap<long, float>>[] seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
                {
                    start.SignalAndWait();
                    return result.OutputProbability;
                })));
                Assert.All(seen, s => Assert.Same(seen[0], s));
                Assert.Equal(result.Best(3), Classification.Best(seen[5], 3, IrisClassifier.Labels, null));
            });
        }

        [Fact]
        public void Signature_describes_nested_types()
        {
            Assert.Equal("seq(map(int64,tensor(float)))", IrisClassifier.ModelSignature.Outputs[1].TypeDescription);
            Assert.Equal(OnnxValueKind.Sequence, IrisClassifier.ModelSignature.Outputs[1].Kind);
            Assert.True(IrisClassifier.ModelSignature.Outputs[1].IsSupported);
            Assert.Equal(OnnxType.Optional(OnnxType.Tensor(OnnxElementType.Float)), OptionalValues.ModelSignature.Inputs[0].Type);
        }

        [Fact]
        public void A_file_whose_value_types_differ_is_refused_at_load()
        {
            // The string-label file under the int64-label class: same names, other map key type.
            var error = Assert.Throws<ModelLoadException>(() => IrisClassifier.Load(TestData.Model("iris_classifier_strings")));
            Assert.Contains("output 'output_probability' has type seq(map(string,tensor(float))), expected seq(map(int64,tensor(float)))", error.Message);
        }
    }
}
