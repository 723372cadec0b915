namespace Sluice.Telemetry;

/// <summary>Where a process exports the engine's metrics. Nothing is exported when both are left out.</summary>
public sealed record SluiceMetricsOptions
{
    /// <summary>
    /// HOST:PORT to serve <c>/metrics</c> on for Prometheus, from a listener of its own (a process without a web host:
    /// <c>sluice run</c>, <c>sluice worker</c>). Hosts are IP addresses; 0.0.0.0 serves every interface.
    /// </summary>
    public string? Prometheus { get; init; }

    /// <summary>An OpenTelemetry collector to push to over OTLP/HTTP (protobuf), e.g. http://collector:4318.</summary>
    public Uri? Otlp { get; init; }

    /// <summary>How often metrics are pushed over OTLP (the last values are pushed once more when the process ends).</summary>
    public TimeSpan OtlpInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>service.name</c> resource attribute.</summary>
    public string ServiceName { get; init; } = "sluice";

    public IEnumerable<string> Validate()
    {
        if (Prometheus is { } p && !ListenAddress.TryParse(p, out _))
            yield return $"--metrics: '{p}' is not accepted; give HOST:PORT with an IP address and a port, e.g. 127.0.0.1:9464 or 0.0.0.0:9464";
        if (Otlp is { } o && (!o.IsAbsoluteUri || o.Scheme is not ("http" or "https")))
            yield return $"--otlp: '{o}' is not accepted; give the collector's http:// or https:// URL, e.g. http://collector:4318";
        if (OtlpInterval <= TimeSpan.Zero) yield return $"otlp interval: {OtlpInterval} is not accepted; give a positive time";
    }
}
