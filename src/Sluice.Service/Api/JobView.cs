using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sluice.Execution.Stats;
using Sluice.Service.History;

namespace Sluice.Service.Api;

/// <summary>
/// A job as the API shows it (<c>GET /api/jobs/{id}</c>, each <c>/events</c> snapshot; <c>GET /api/jobs</c> leaves out
/// <c>spec</c> and <c>snapshot</c>):
/// <code>
/// { "id": "20261130-031500-a1b2c3", "name": "embed-text",
///   "state": "queued" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted",
///   "reason": "waiting for resources: ..." (queued only, else null),
///   "submitted": "2026-11-30T03:15:00Z", "started": ... | null, "ended": ... | null,
///   "error": "..." | null, "runs": 1,
///   "progress": { "rows_done": 1200, "rows_total": 4000 | null, "percent": 30.0 | null, "eta_seconds": 12.5 | null },
///   "spec": "the YAML or JSON as submitted",
///   "snapshot": the engine's ExecutionSnapshot (live while running, the final stats after): { "operators": [ { "name",
///     "kind", "rows_out", "blocks_out", "bytes_out", "tasks_running", "tasks_done", "task_retries", "queued_blocks",
///     "queued_bytes", "actors_ready", "actors_starting", "actors_idle", "back_pressure", "last_scaling",
///     "rows_per_second", "busy_time" (s), "done", "target", "target_reason", ... } ], "used_bytes", "budget_bytes",
///     "elapsed" (s), "resources", "device_utilization", ... } | null }
/// </code>
/// </summary>
internal sealed record JobView(
    string Id,
    string Name,
    JobState State,
    string? Reason,
    DateTimeOffset Submitted,
    DateTimeOffset? Started,
    DateTimeOffset? Ended,
    string? Error,
    int Runs,
    JobProgress Progress)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Spec { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonNode? Snapshot { get; init; }

    public static JobView Of(JobRow row, ExecutionSnapshot? live, DateTimeOffset now, bool full)
    {
        ArgumentNullException.ThrowIfNull(row);
        var snapshot = live is not null ? JsonSerializer.SerializeToNode(live, ApiJson.Options) : row.StatsJson is { } json ? JsonNode.Parse(json) : null;
        var done = snapshot?["operators"] is JsonArray { Count: > 0 } ops ? ops[^1]?["rows_out"]?.GetValue<long>() ?? 0 : 0;
        var elapsed = (row.Ended ?? now) - (row.Started ?? now);
        var view = new JobView(row.Id, row.Name, row.State, row.Reason, row.Submitted, row.Started, row.Ended, row.Error, row.Runs,
            JobProgress.Of(done, row.RowsTotal, elapsed, row.State));
        return full ? view with { Spec = row.Spec, Snapshot = snapshot } : view;
    }
}

/// <summary>Rows written so far, of how many when the input's size is known, and the time left at the rate so far.</summary>
internal sealed record JobProgress(long RowsDone, long? RowsTotal, double? Percent, double? EtaSeconds)
{
    public static JobProgress Of(long done, long? total, TimeSpan elapsed, JobState state)
    {
        if (state == JobState.Succeeded) return new JobProgress(done, total ?? done, 100, 0);
        if (total is not > 0) return new JobProgress(done, total, null, null);
        // A text input's total is estimated from a sample: never show more than 99.9% before the job ends.
        var fraction = Math.Min(0.999, (double)done / total.Value);
        double? eta = state == JobState.Running && done > 0 ? Math.Round(elapsed.TotalSeconds * (1 - fraction) / fraction, 1) : null;
        return new JobProgress(done, total, Math.Round(fraction * 100, 1), eta);
    }
}
