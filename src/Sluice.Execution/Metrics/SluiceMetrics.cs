using System.Diagnostics.Metrics;

namespace Sluice.Execution.Metrics;

/// <summary>
/// The engine's metrics: one <see cref="Meter"/> named <see cref="MeterName"/>. Every job started with
/// <see cref="JobExecution.Start"/> is recorded from the snapshots it publishes; a listener (OpenTelemetry's
/// <c>AddMeter("Sluice")</c>, <c>dotnet-counters</c>) reads them, and nothing is computed while none listens.
/// </summary>
public static class SluiceMetrics
{
    /// <summary>The meter's name: what an exporter subscribes to.</summary>
    public const string MeterName = "Sluice";

    /// <summary>The attribute that names the job (its spec's name); namespaced so that Prometheus's own <c>job</c> label is left alone.</summary>
    public const string JobAttribute = "sluice.job";

    public const string StageAttribute = "sluice.stage";

    /// <summary>The stage's kind: read, tasks, actors or write (the rows a job wrote are those of its write stage).</summary>
    public const string StageKindAttribute = "sluice.stage.kind";

    public const string NodeAttribute = "sluice.node";
}
