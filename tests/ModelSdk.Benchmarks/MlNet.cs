using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace ModelSdk.Benchmarks
{
    /// <summary>ML.NET's row for a model with one float input (its ONNX name is set by the schema, not the class).</summary>
    public sealed class MlNetInput
    {
        public float[] Values = Array.Empty<float>();
    }

    /// <summary>ML.NET's row for one float output.</summary>
    public sealed class MlNetOutput
    {
        public float[] Values = Array.Empty<float>();
    }

    /// <summary>ML.NET's way to run an ONNX model one example at a time: ApplyOnnxModel + PredictionEngine.</summary>
    internal sealed class MlNetModel : IDisposable
    {
        private readonly ITransformer _transformer;

        public MlNetModel(string modelFile, string inputName, int inputLength, string outputName, int outputLength)
        {
            var ml = new MLContext(seed: 0);

            // The row classes serve every model: map their one field to this model's names and sizes.
            SchemaDefinition inputSchema = SchemaDefinition.Create(typeof(MlNetInput));
            inputSchema[0].ColumnName = inputName;
            inputSchema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, inputLength);
            SchemaDefinition outputSchema = SchemaDefinition.Create(typeof(MlNetOutput));
            outputSchema[0].ColumnName = outputName;
            outputSchema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, outputLength);

            IDataView empty = ml.Data.LoadFromEnumerable(Array.Empty<MlNetInput>(), inputSchema);
            var options = new OnnxOptions
            {
                ModelFile = Bench.ModelPath(modelFile),
                InputColumns = new[] { inputName },
                OutputColumns = new[] { outputName },
                IntraOpNumThreads = Bench.IntraOpThreads,
            };
            _transformer = ml.Transforms.ApplyOnnxModel(options).Fit(empty);
            Engine = ml.Model.CreatePredictionEngine<MlNetInput, MlNetOutput>(
                _transformer, ignoreMissingColumns: true, inputSchemaDefinition: inputSchema, outputSchemaDefinition: outputSchema);
        }

        public PredictionEngine<MlNetInput, MlNetOutput> Engine { get; }

        public void Dispose()
        {
            Engine.Dispose();
            (_transformer as IDisposable)?.Dispose();
        }
    }
}
