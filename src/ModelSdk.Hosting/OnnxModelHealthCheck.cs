using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelSdk;
using ModelSdk.Hosting;

namespace ModelSdk.Hosting
{
    /// <summary>
    /// Reports a served model's state: Healthy while it serves the configured file, Degraded after a reload failed
    /// (the previous version still serves), Unhealthy when no version could be loaded or the host is stopping.
    /// Register it with <see cref="Microsoft.Extensions.DependencyInjection.OnnxModelHealthCheckBuilderExtensions.AddOnnxModelCheck{TModel}"/>.
    /// </summary>
    /// <typeparam name="TModel">The generated model class.</typeparam>
    internal sealed class OnnxModelHealthCheck<TModel> : IHealthCheck
        where TModel : CompiledModel, ICompiledModel<TModel>
    {
        private readonly ModelHost<TModel>? _host;

        /// <param name="host">The model's host; null when <c>AddOnnxModel&lt;TModel&gt;()</c> was never called (reported, not thrown, so the health endpoint still answers).</param>
        public OnnxModelHealthCheck(ModelHost<TModel>? host) => _host = host;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            string name = ModelRegistration<TModel>.ModelName;
            if (_host is null)
            {
                return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                    "AddOnnxModelCheck<" + typeof(TModel).Name + ">() checks a model registered with services.AddOnnxModel<" + typeof(TModel).Name + ">(); it isn't registered."));
            }

            TModel? model = _host.LoadedModel;
            ModelLoadFailure? failure = _host.LastFailure;
            var data = new Dictionary<string, object>
            {
                ["path"] = _host.FilePath,
                ["version"] = model?.Version ?? 0,
            };
            if (model != null)
            {
                data["runsInFlight"] = model.RunsInFlight;
                data["requestsHeld"] = model.RequestsHeld;
            }

            if (failure != null)
            {
                data["lastFailure"] = failure.Error.Message;
                data["lastFailureAt"] = failure.At;
            }

            HealthCheckResult result;
            if (_host.IsStopping || model is { IsDisposed: true })
            {
                result = new HealthCheckResult(context.Registration.FailureStatus, "Model " + name + " is closing.", null, data);
            }
            else if (model is null)
            {
                result = new HealthCheckResult(context.Registration.FailureStatus,
                    "Model " + name + " is not loaded: " + (failure?.Error.Message ?? "the host has not started."), failure?.Error, data);
            }
            else if (failure != null)
            {
                result = HealthCheckResult.Degraded(
                    "Model " + name + " serves version " + model.Version + "; reloading '" + _host.FilePath + "' failed at " +
                    failure.At.ToString("O") + ": " + failure.Error.Message, failure.Error, data);
            }
            else
            {
                result = HealthCheckResult.Healthy("Model " + name + " serves version " + model.Version + " from '" + _host.FilePath + "'.", data);
            }

            return Task.FromResult(result);
        }
    }
}

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Adds health checks of served models.</summary>
    public static class OnnxModelHealthCheckBuilderExtensions
    {
        /// <summary>
        /// Checks the model registered with <c>AddOnnxModel&lt;TModel&gt;()</c>: Healthy when loaded, Degraded after a
        /// failed reload (still serving the previous version), Unhealthy (or <paramref name="failureStatus"/>) when
        /// nothing could be loaded or the host is stopping. The result's data has the path, version, runs in flight,
        /// requests held and the last failure.
        /// </summary>
        /// <param name="builder">The health checks builder.</param>
        /// <param name="name">The check's name; default <c>onnx-model-</c> and the class name.</param>
        /// <param name="failureStatus">What to report when no model serves; default Unhealthy.</param>
        /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
        public static IHealthChecksBuilder AddOnnxModelCheck<TModel>(this IHealthChecksBuilder builder, string? name = null,
            HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
            where TModel : CompiledModel, ICompiledModel<TModel>
        {
            ArgumentNullException.ThrowIfNull(builder);
            return builder.Add(new HealthCheckRegistration(
                name ?? "onnx-model-" + typeof(TModel).Name,
                services => new OnnxModelHealthCheck<TModel>((ModelHost<TModel>?)services.GetService(typeof(ModelHost<TModel>))),
                failureStatus,
                tags));
        }
    }
}
