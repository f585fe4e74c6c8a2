// Classifier: the typed class IrisClassifier was generated at build time from models/iris_classifier.onnx, a
// scikit-learn LogisticRegression in skl2onnx's graph (its probabilities are a ZipMap), with label names from
// models/iris_labels.txt. Best and TopK read the ZipMap; Labels and LabelNames are part of the class.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Classifier;
using ModelSdk;

using IrisClassifier model = IrisClassifier.Load();
Console.WriteLine($"Loaded {IrisClassifier.DefaultModelPath}: classes " +
                  string.Join(", ", IrisClassifier.Labels.Select((label, i) => $"{label} = {IrisClassifier.LabelNames[i]}")));
Console.WriteLine();

string[] lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "iris_samples.csv"))[1..];
var rows = new float[lines.Length * 4];
var truth = new string[lines.Length];
for (int r = 0; r < lines.Length; r++)
{
    string[] fields = lines[r].Split(',');
    truth[r] = fields[0];
    for (int f = 0; f < 4; f++)
    {
        rows[r * 4 + f] = float.Parse(fields[f + 1], CultureInfo.InvariantCulture);
    }
}

// All held-out rows in one run: the dim ONNX left unnamed becomes a parameter.
IrisClassifier.Result result = model.Run(rows, floatInputDim0: lines.Length);
var top2 = new Prediction<long>[2]; // reused: TopK writes into it
int correct = 0;
for (int r = 0; r < lines.Length; r++)
{
    Prediction<long> best = result.Best(r);   // label, index, score, name: no allocation
    result.TopK(top2, r);
    bool ok = best.Name == truth[r];
    correct += ok ? 1 : 0;
    if (r < 10 || !ok)
    {
        Console.WriteLine($"row {r,2}: {best.Name,-10} p={best.Score:0.000}  (next: {top2[1].Name} {top2[1].Score:0.000})  truth {truth[r],-10} {(ok ? "ok" : "MISS")}");
    }
}

Console.WriteLine($"... {lines.Length} held-out rows");
Console.WriteLine();
Console.WriteLine($"accuracy: {correct}/{lines.Length} = {(double)correct / lines.Length:P1}");
