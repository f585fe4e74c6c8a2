// QuickStart: the typed class Digits was generated at build time from models/digits.onnx
// (a small MLP trained on scikit-learn's digits by models/make_models.py).
using System;
using System.Globalization;
using System.IO;
using QuickStart;

using Digits model = Digits.Load();
Console.WriteLine($"Loaded {Digits.DefaultModelPath}: input '{Digits.Inputs.Pixels.OnnxName}' " +
                  $"float[{Digits.Inputs.Pixels.Dim0}, {Digits.Inputs.Pixels.Dim1}] ({Digits.Inputs.Pixels.ElementCount} pixels, 0..16)");
Console.WriteLine();

var pixels = new float[Digits.Inputs.Pixels.ElementCount];
int correct = 0, total = 0;
string[] lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "digits_samples.csv"));
foreach (string line in lines[1..])
{
    string[] fields = line.Split(',');
    int truth = int.Parse(fields[0], CultureInfo.InvariantCulture);
    for (int i = 0; i < pixels.Length; i++)
    {
        pixels[i] = float.Parse(fields[i + 1], CultureInfo.InvariantCulture);
    }

    Digits.Result result = model.Run(pixels);          // typed input, shared (not copied)
    long predicted = result.Label[0];                   // typed output, read in place
    float confidence = result.Probabilities[(int)predicted];

    total++;
    correct += predicted == truth ? 1 : 0;
    Console.WriteLine($"sample {total,2}: predicted {predicted} (p={confidence:0.000})  truth {truth}  {(predicted == truth ? "ok" : "MISS")}");
}

Console.WriteLine();
Console.WriteLine($"accuracy: {correct}/{total} = {(double)correct / total:P1}");
