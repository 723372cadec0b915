using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Sluice.Execution.Metrics;

namespace Sluice.Telemetry;

/// <summary>One call to export the engine's metrics: from a web host (the job service) or from a plain process (the CLI).</summary>
public static class SluiceMetricsExtensions
{
    /// <summary>Subscribes to the engine's meter (<see cref="SluiceMetrics.MeterName"/>) and .NET's own runtime metrics.</summary>
    public static MeterProviderBuilder AddSluiceInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(SluiceMetrics.MeterName, "System.Runtime");
    }

    /// <summary>
    /// For an ASP.NET Core host: OpenTelemetry metrics with the engine's meter, a Prometheus scrape endpoint to map
    /// with <see cref="MapSluiceMetrics"/>, and OTLP when <see cref="SluiceMetricsOptions.Otlp"/> is given.
    /// </summary>
    public static IServiceCollection AddSluiceMetrics(this IServiceCollection services, SluiceMetricsOptions? options = null)
    {
        options ??= new SluiceMetricsOptions();
        Check(options);
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddSluiceInstrumentation().AddPrometheusExporter();
                if (options.Otlp is { } otlp) AddOtlp(metrics, otlp, options.OtlpInterval);
            });
        return services;
    }

    /// <summary>Serves the metrics at <paramref name="path"/> in Prometheus's text format (after <see cref="AddSluiceMetrics"/>).</summary>
    public static IEndpointConventionBuilder MapSluiceMetrics(this IEndpointRouteBuilder endpoints, string path = "/metrics") =>
        endpoints.MapPrometheusScrapingEndpoint(path);

    /// <summary>
    /// For a process without a web host: starts exporting as <paramref name="options"/> says and returns the provider;
    /// disposing it stops the listener and pushes the last values over OTLP. Null when nothing is to be exported.
    /// </summary>
    public static MeterProvider? StartExporters(SluiceMetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Check(options);
        if (options.Prometheus is null && options.Otlp is null) return null;
        var builder = OpenTelemetry.Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .AddSluiceInstrumentation();
        if (options.Prometheus is { } listen && ListenAddress.TryParse(listen, out var address))
        {
            builder.AddPrometheusHttpListener(o =>
            {
                o.Host = address.Host;
                o.Port = address.Port;
                o.ScrapeEndpointPath = "/metrics";
            });
        }
        if (options.Otlp is { } otlp) AddOtlp(builder, otlp, options.OtlpInterval);
        return builder.Build();
    }

    private static void AddOtlp(MeterProviderBuilder metrics, Uri endpoint, TimeSpan interval) =>
        metrics.AddOtlpExporter((exporter, reader) =>
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            // Given a collector's base URL, post to its metrics path; a full .../v1/metrics URL is kept as it is.
            exporter.Endpoint = endpoint.AbsolutePath is "" or "/" ? new Uri(endpoint, "v1/metrics") : endpoint;
            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)interval.TotalMilliseconds;
        });

    private static void Check(SluiceMetricsOptions options)
    {
        var errors = options.Validate().ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join(Environment.NewLine, errors));
    }
}
