using System.CommandLine;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Sluice.Cli.Output;
using Sluice.Telemetry;

namespace Sluice.Cli.Commands;

/// <summary>The options that export the engine's metrics (<c>--metrics</c>, <c>--otlp</c>) and show its log (<c>--verbose</c>, <c>--log-level</c>).</summary>
internal static class MetricsExport
{
    public static Option<string?> PrometheusOption() => new("--metrics")
    {
        Description = "serve the engine's metrics for Prometheus at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464 (0.0.0.0:9464: every interface)",
    };

    public static Option<string?> OtlpOption() => new("--otlp") { Description = "push the engine's metrics over OTLP/HTTP to this collector, e.g. http://collector:4318" };

    public static Option<double?> LingerOption() => new("--metrics-linger")
    {
        Description = "with --metrics: keep serving /metrics this many seconds after the job, so a last scrape reads the final counts (default 0)",
    };

    public static Option<bool> VerboseOption() => new("--verbose", "-v") { Description = "show the engine's decision log: scaling decisions, retries, the plan (same as --log-level info)" };

    public static Option<string?> LogLevelOption() => new("--log-level")
    {
        Description = "show the engine's log from this level on: trace, debug, info, warning, error, critical or none (default none)",
    };

    /// <summary>Starts the exporters the options ask for; null when none. Disposing it stops them (OTLP pushes once more).</summary>
    public static MeterProvider? Start(string? prometheus, string? otlp, string service)
    {
        Uri? collector = null;
        if (otlp is not null && !Uri.TryCreate(otlp, UriKind.Absolute, out collector))
            throw new SluiceException($"--otlp: '{otlp}' is not accepted; give the collector's http:// or https:// URL, e.g. http://collector:4318");
        var provider = SluiceMetricsExtensions.StartExporters(new SluiceMetricsOptions { Prometheus = prometheus, Otlp = collector, ServiceName = service });
        if (prometheus is not null) Console.Error.WriteLine($"metrics: http://{prometheus}/metrics");
        return provider;
    }

    /// <summary>After a job: keeps /metrics up for <paramref name="seconds"/> (Ctrl-C ends the wait).</summary>
    public static async Task LingerAsync(string? prometheus, double? seconds, CancellationToken ct)
    {
        if (seconds is not { } s || s <= 0) return;
        if (prometheus is null) throw new SluiceException("--metrics-linger keeps /metrics up after the job: give --metrics HOST:PORT too");
        if (double.IsInfinity(s) || double.IsNaN(s)) throw new SluiceException($"--metrics-linger: '{s}' is not accepted; give seconds, 0 or more");
        Console.Error.WriteLine($"metrics: serving the final counts at http://{prometheus}/metrics for {s:0.#} s");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(s), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The decision log the options ask for; null when neither is given (or the level is none).</summary>
    public static DecisionLog? Log(bool verbose, string? level)
    {
        var chosen = verbose ? LogLevel.Information : LogLevel.None;
        if (level is not null)
        {
            if (!DecisionLog.TryParseLevel(level, out var parsed))
                throw new SluiceException($"--log-level: '{level}' is not accepted; give one of trace, debug, info, warning, error, critical, none");
            chosen = parsed;
        }
        return chosen == LogLevel.None ? null : new DecisionLog(chosen);
    }
}
