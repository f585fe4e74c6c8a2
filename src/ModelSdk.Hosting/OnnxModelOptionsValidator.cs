using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ModelSdk.Hosting
{
    /// <summary>
    /// Checks one model's <see cref="OnnxModelOptions"/> when the host starts (<c>ValidateOnStart</c>): every message
    /// names the model, the setting as it was written (<c>Models:Digits:Path</c>) and what it takes. Whether the file
    /// matches the class is checked by loading it, which the host does next (see <see cref="ModelHost{TModel}"/>).
    /// </summary>
    internal sealed class OnnxModelOptionsValidator<TModel> : IValidateOptions<OnnxModelOptions>
        where TModel : CompiledModel, ICompiledModel<TModel>
    {
        /// <summary>The settings configuration can bind (a delegate can only be set in code).</summary>
        private static readonly string[] BindableSettings = typeof(OnnxModelOptions)
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && !typeof(Delegate).IsAssignableFrom(p.PropertyType))
            .Select(p => p.Name)
            .ToArray();

        /// <summary>The settings of the Batching section (all of BatchingOptions' public properties).</summary>
        private static readonly string[] BatchingSettings = typeof(BatchingOptions)
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.Name)
            .ToArray();

        private readonly ModelRegistration<TModel> _registration;

        public OnnxModelOptionsValidator(ModelRegistration<TModel> registration) => _registration = registration;

        public ValidateOptionsResult Validate(string? name, OnnxModelOptions options)
        {
            if (name != ModelRegistration<TModel>.OptionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            string model = "Model " + ModelRegistration<TModel>.ModelName + ": ";
            var failures = new List<string>();
            foreach (IConfiguration section in _registration.Sections)
            {
                foreach (IConfigurationSection child in section.GetChildren())
                {
                    if (!BindableSettings.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                    {
                        failures.Add(model + child.Path + " is not a setting (settings: " + string.Join(", ", BindableSettings) + ").");
                    }
                    else if (string.Equals(child.Key, nameof(OnnxModelOptions.Batching), StringComparison.OrdinalIgnoreCase))
                    {
                        foreach (IConfigurationSection batching in child.GetChildren())
                        {
                            if (!BatchingSettings.Contains(batching.Key, StringComparer.OrdinalIgnoreCase))
                            {
                                failures.Add(model + batching.Path + " is not a batching setting (settings: " + string.Join(", ", BatchingSettings) + ").");
                            }
                        }
                    }
                }
            }

            try
            {
                options.Batching.Validate();
            }
            catch (ArgumentException e)
            {
                failures.Add(model + _registration.Describe(nameof(OnnxModelOptions.Batching) + ":" + (e.ParamName ?? "?")) + ": " + FirstLine(e.Message));
            }

            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                failures.Add(model + _registration.Describe(e.ParamName ?? "?") + ": " + FirstLine(e.Message));
            }

            CheckNotNegative(failures, model, nameof(OnnxModelOptions.ReloadDebounce), options.ReloadDebounce);
            CheckNotNegative(failures, model, nameof(OnnxModelOptions.ShutdownTimeout), options.ShutdownTimeout);
            CheckFile(failures, model, options);
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }

        private void CheckNotNegative(List<string> failures, string model, string setting, TimeSpan value)
        {
            if (value < TimeSpan.Zero)
            {
                failures.Add(model + _registration.Describe(setting) + " is " + value + "; it can't be negative.");
            }
        }

        private void CheckFile(List<string> failures, string model, OnnxModelOptions options)
        {
            string path;
            try
            {
                path = options.ResolvePath(TModel.DefaultModelPath);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                failures.Add(model + _registration.DescribePath(options) + " is not a valid path: " + e.Message);
                return;
            }

            if (options.RequiredAtStartup && !File.Exists(path))
            {
                failures.Add(model + "the model file '" + path + "' does not exist (" + _registration.DescribePath(options) +
                             ", relative to " + AppContext.BaseDirectory + "). Set Path to the .onnx file, or RequiredAtStartup to false to start without it.");
            }
            else if (options.WatchForChanges && !Directory.Exists(System.IO.Path.GetDirectoryName(path)))
            {
                failures.Add(model + "WatchForChanges needs the folder of '" + path + "' to exist (" + _registration.DescribePath(options) + ").");
            }
        }

        private static string FirstLine(string message)
        {
            int end = message.IndexOf(" (Parameter", StringComparison.Ordinal);
            return end < 0 ? message : message.Substring(0, end);
        }
    }
}
