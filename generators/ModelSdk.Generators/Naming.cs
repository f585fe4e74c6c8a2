using System.Collections.Generic;
using System.IO;
using ModelSdk.Generators.Emitting;
using ModelSdk.Generators.Model;

namespace ModelSdk.Generators
{
    /// <summary>Chooses the class name and namespace of a model and collects the diagnostics about its spec.</summary>
    internal static class Naming
    {
        // Members of the generated class that the class itself must not be named after (CS0542).
        private static readonly HashSet<string> ReservedClassNames = new HashSet<string>(System.StringComparer.Ordinal)
        {
            "Inputs", "Outputs", "Result", "Request", "Queue", "ModelSignature", "DefaultModelPath",
            "Load", "Run", "RunAsync", "CreateRequest", "CreateQueue", "Batcher", "ItemResult", "CreateBatcher", "Labels", "LabelNames",
        };

        public static GenerationUnit Resolve(ModelRequest request, ParsedModel parsed, LabelFile? labels = null)
        {
            var diagnostics = new List<DiagnosticInfo>();
            if (parsed.Error != null)
            {
                diagnostics.Add(parsed.Error);
            }

            string? className = ChooseClassName(request, diagnostics);
            string? ns = ChooseNamespace(request, diagnostics);
            ModelClass? model = null;
            if (parsed.Spec != null && className != null && ns != null)
            {
                string? batchDim = BatchAnalysis.Find(parsed.Spec, request.BatchDim, out string? batchProblem);
                if (batchProblem != null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NotBatchable, request.ModelPath, request.FileName, request.BatchDim!, batchProblem));
                }

                foreach (string unmatched in Renames.Unmatched(request.Rename, parsed.Spec))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.UnmatchedRename, request.ModelPath, request.FileName, unmatched));
                }

                string? labelsText = null;
                if (request.LabelsPath != null)
                {
                    labelsText = labels?.Text;
                    if (labelsText is null)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NoClassifier, request.ModelPath, request.FileName,
                            "its Labels file '" + request.LabelsPath + "' was not found or could not be read"));
                    }
                }

                ClassifierSpec? classifier = Classifiers.Find(parsed.Spec, request.ScoresOutput, labelsText, out string? classifierProblem);
                if (classifierProblem != null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NoClassifier, request.ModelPath, request.FileName, classifierProblem));
                }

                model = new ModelClass(request, parsed.Spec, className, ns, batchDim, classifier);
                ReportUnsupportedTypes(model, diagnostics);
            }

            return new GenerationUnit(request.ModelPath, model, new EquatableArray<DiagnosticInfo>(diagnostics));
        }

        private static string? ChooseClassName(ModelRequest request, List<DiagnosticInfo> diagnostics)
        {
            if (!string.IsNullOrEmpty(request.ClassName))
            {
                string explicitName = request.ClassName!;
                if (!CSharpText.IsValidTypeName(explicitName))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.InvalidClassName, request.ModelPath, request.FileName, explicitName, string.Empty));
                    return null;
                }

                if (CSharpText.IsContextualKeyword(explicitName))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.InvalidClassName, request.ModelPath, request.FileName, explicitName,
                        " (it is a contextual keyword, which C# does not allow or reads otherwise as a type name)"));
                    return null;
                }

                if (ReservedClassNames.Contains(explicitName))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.InvalidClassName, request.ModelPath, request.FileName, explicitName,
                        " (it is the name of a member of the generated class)"));
                    return null;
                }

                return explicitName;
            }

            string derived = CSharpText.ToPascalIdentifier(Path.GetFileNameWithoutExtension(request.FileName), "OnnxModel").TrimStart('@');
            return ReservedClassNames.Contains(derived) ? derived + "Model" : derived;
        }

        private static string? ChooseNamespace(ModelRequest request, List<DiagnosticInfo> diagnostics)
        {
            string ns = !string.IsNullOrEmpty(request.Namespace) ? request.Namespace! : request.RootNamespace;
            if (!CSharpText.IsValidNamespace(ns))
            {
                diagnostics.Add(DiagnosticInfo.Create(Diagnostics.InvalidNamespace, request.ModelPath, request.FileName, ns));
                return null;
            }

            return ns;
        }

        private static void ReportUnsupportedTypes(ModelClass model, List<DiagnosticInfo> diagnostics)
        {
            foreach (ValueSpec input in model.Spec.Inputs)
            {
                if (!ModelPlan.IsExpressible(input.Type))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.UnsupportedType, model.Request.ModelPath,
                        "input", input.Name, model.ClassName, input.Type.Display, ValueTypes.WhatToDo(input.Type), "Run method throws"));
                }
            }

            foreach (ValueSpec output in model.Spec.Outputs)
            {
                if (!ModelPlan.IsExpressible(output.Type))
                {
                    diagnostics.Add(DiagnosticInfo.Create(Diagnostics.UnsupportedType, model.Request.ModelPath,
                        "output", output.Name, model.ClassName, output.Type.Display, ValueTypes.WhatToDo(output.Type), "property throws (the other outputs work)"));
                }
            }
        }
    }
}
