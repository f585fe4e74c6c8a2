using System.Collections.Generic;
using Microsoft.Extensions.Configuration;

namespace ModelSdk.Hosting
{
    /// <summary>
    /// What <c>AddOnnxModel&lt;TModel&gt;</c> recorded about one model: its options' name and the configuration
    /// sections bound to them, so that messages can name the setting a user wrote (<c>Models:Digits:Path</c>).
    /// </summary>
    internal sealed class ModelRegistration<TModel>
        where TModel : CompiledModel, ICompiledModel<TModel>
    {
        /// <summary>The name of the model's <see cref="OnnxModelOptions"/> (its class's full name).</summary>
        public static string OptionsName { get; } = typeof(TModel).FullName ?? typeof(TModel).Name;

        /// <summary>The model's class name, as logs, metrics and messages call it.</summary>
        public static string ModelName => TModel.ModelSignature.ModelName;

        /// <summary>The configuration bound to the options, in the order the calls were made.</summary>
        public List<IConfiguration> Sections { get; } = new List<IConfiguration>();

        /// <summary>Where a setting was written: <c>Models:Digits:Path</c> when a bound section has it, else the option in code.</summary>
        public string Describe(string setting)
        {
            for (int i = Sections.Count - 1; i >= 0; i--)
            {
                if (Sections[i][setting] != null)
                {
                    string path = (Sections[i] as IConfigurationSection)?.Path ?? string.Empty;
                    return path.Length == 0 ? setting : path + ":" + setting;
                }
            }

            return "OnnxModelOptions." + setting;
        }

        /// <summary>Where the model's file comes from, for messages: the setting and its value, or the class's default.</summary>
        public string DescribePath(OnnxModelOptions options) => options.Path is null
            ? ModelName + ".DefaultModelPath ('" + TModel.DefaultModelPath + "', no Path configured)"
            : Describe(nameof(OnnxModelOptions.Path)) + " = '" + options.Path + "'";
    }
}
