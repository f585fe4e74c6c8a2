using System;
using System.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelSdk;
using ModelSdk.Hosting;

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Registers generated model classes as services.</summary>
    public static class OnnxModelServiceCollectionExtensions
    {
        /// <summary>
        /// Serves <typeparamref name="TModel"/>: one instance for the whole app (inject the class itself), loaded and
        /// checked when the host starts, reloaded when configured, closed gracefully when the host stops; also
        /// <see cref="IModelReloader{TModel}"/>. Settings default to the file the class was generated from. Calling
        /// it again (or an overload) for the same class adds configuration, not a second model.
        /// </summary>
        /// <typeparam name="TModel">The generated model class.</typeparam>
        /// <param name="services">The app's services.</param>
        public static IServiceCollection AddOnnxModel<TModel>(this IServiceCollection services)
            where TModel : CompiledModel, ICompiledModel<TModel>
        {
            ArgumentNullException.ThrowIfNull(services);
            Registration<TModel>(services);
            return services;
        }

        /// <summary>
        /// Serves <typeparamref name="TModel"/> (see <see cref="AddOnnxModel{TModel}(IServiceCollection)"/>) with the
        /// settings of a configuration section, for example <c>builder.Configuration.GetSection("Models:Digits")</c>;
        /// the keys are <see cref="OnnxModelOptions"/>' properties, and a key that is not one fails the start.
        /// </summary>
        /// <typeparam name="TModel">The generated model class.</typeparam>
        /// <param name="services">The app's services.</param>
        /// <param name="configuration">The section with the model's settings.</param>
        public static IServiceCollection AddOnnxModel<TModel>(this IServiceCollection services, IConfiguration configuration)
            where TModel : CompiledModel, ICompiledModel<TModel>
        {
            ArgumentNullException.ThrowIfNull(services);
            ArgumentNullException.ThrowIfNull(configuration);
            Registration<TModel>(services).Sections.Add(configuration);
            services.Configure<OnnxModelOptions>(ModelRegistration<TModel>.OptionsName, configuration);
            return services;
        }

        /// <summary>Serves <typeparamref name="TModel"/> (see <see cref="AddOnnxModel{TModel}(IServiceCollection)"/>) with settings set in code.</summary>
        /// <typeparam name="TModel">The generated model class.</typeparam>
        /// <param name="services">The app's services.</param>
        /// <param name="configure">Sets the model's options.</param>
        public static IServiceCollection AddOnnxModel<TModel>(this IServiceCollection services, Action<OnnxModelOptions> configure)
            where TModel : CompiledModel, ICompiledModel<TModel>
        {
            ArgumentNullException.ThrowIfNull(services);
            ArgumentNullException.ThrowIfNull(configure);
            Registration<TModel>(services);
            services.Configure(ModelRegistration<TModel>.OptionsName, configure);
            return services;
        }

        /// <summary>
        /// Serves the dynamic batcher <typeparamref name="TBatcher"/> (a generated <c>Model.Batcher</c>, e.g. <c>DigitsBatch.Batcher</c>)
        /// over its registered model: one for the whole app, with the model's <c>Batching</c> settings, following the model's
        /// reloads (each batch runs the version loaded when it starts), disposed when the app stops. Register the model
        /// with <c>AddOnnxModel</c> too.
        /// </summary>
        /// <typeparam name="TBatcher">The generated batcher class.</typeparam>
        /// <param name="services">The app's services.</param>
        public static IServiceCollection AddOnnxModelBatcher<TBatcher>(this IServiceCollection services)
            where TBatcher : ModelBatcher, IModelBatcher<TBatcher>
        {
            ArgumentNullException.ThrowIfNull(services);
            services.TryAddSingleton<TBatcher>(static sp =>
            {
                Type modelType = TBatcher.ModelType;
                var model = sp.GetService(modelType) as CompiledModel ?? throw new InvalidOperationException(
                    $"{typeof(TBatcher).FullName} batches {modelType.Name}, which is not registered: call services.AddOnnxModel<{modelType.Name}>(...) too.");
                BatchingOptions batching = sp.GetRequiredService<IOptionsMonitor<OnnxModelOptions>>().Get(modelType.FullName ?? modelType.Name).Batching;
                return TBatcher.Create(model, batching);
            });
            return services;
        }

        /// <summary>The name of <typeparamref name="TModel"/>'s <see cref="OnnxModelOptions"/>, for <c>IOptionsMonitor&lt;OnnxModelOptions&gt;.Get(name)</c> or further <c>Configure</c> calls.</summary>
        /// <typeparam name="TModel">The generated model class.</typeparam>
        public static string OptionsName<TModel>()
            where TModel : CompiledModel, ICompiledModel<TModel> => ModelRegistration<TModel>.OptionsName;

        /// <summary>The model's registration, adding its services the first time.</summary>
        private static ModelRegistration<TModel> Registration<TModel>(IServiceCollection services)
            where TModel : CompiledModel, ICompiledModel<TModel>
        {
            if (services.FirstOrDefault(d => d.ServiceType == typeof(ModelRegistration<TModel>))?.ImplementationInstance is ModelRegistration<TModel> existing)
            {
                return existing;
            }

            var registration = new ModelRegistration<TModel>();
            services.AddSingleton(registration);
            services.AddOptions<OnnxModelOptions>(ModelRegistration<TModel>.OptionsName).ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnnxModelOptions>, OnnxModelOptionsValidator<TModel>>());
            services.AddSingleton<ModelHost<TModel>>();
            services.AddSingleton<IHostedService>(static sp => sp.GetRequiredService<ModelHost<TModel>>());
            services.AddSingleton<IModelReloader<TModel>>(static sp => sp.GetRequiredService<ModelHost<TModel>>());

            // The model object stays the same across reloads (they swap its version inside), so a singleton is right.
            // The host closes it when the app stops; the container disposing it again afterwards is harmless.
            services.AddSingleton<TModel>(static sp => sp.GetRequiredService<ModelHost<TModel>>().Model);
            return registration;
        }
    }
}
