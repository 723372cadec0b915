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
    /// For a host (the job service): OpenTelemetry metrics with the engine's meter, started and stopped with the host;
    /// OTLP when <see cref="SluiceMetricsOptions.Otlp"/> is given, a stand-alone /metrics listener when
    /// <see cref="SluiceMetricsOptions.Prometheus"/> is. <paramref name="configure"/> adds the host's own exporters, e.g.
    /// an ASP.NET Core app's scrape endpoint: <c>m => m.AddPrometheusExporter()</c>, then <c>app.MapPrometheusScrapingEndpoint()</c>.
    /// </summary>
    public static IServiceCollection AddSluiceMetrics(this IServiceCollection services, SluiceMetricsOptions? options = null, Action<MeterProviderBuilder>? configure = null)
    {
        options ??= new SluiceMetricsOptions();
        Check(options);
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                Configure(metrics.AddSluiceInstrumentation(), options);
                configure?.Invoke(metrics);
            });
        return services;
    }

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
        return Configure(builder, options).Build();
    }

    private static MeterProviderBuilder Configure(MeterProviderBuilder builder, SluiceMetricsOptions options)
    {
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
        return builder;
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
