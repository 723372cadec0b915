using Sluice.Execution.Stats;

namespace Sluice.Execution.Metrics;

/// <summary>
/// One stage's numbers as the metrics report them. Counters only grow: each takes the largest value any snapshot showed,
/// so a late or reordered snapshot never makes one go back. Gauges are the latest snapshot's.
/// </summary>
internal sealed class StageTotals(string job, string stage, string kind)
{
    /// <summary>Job, stage and the stage's kind (read, tasks, actors, write): a dashboard finds rows written as kind="write".</summary>
    public KeyValuePair<string, object?>[] Tags { get; } =
        [new(SluiceMetrics.JobAttribute, job), new(SluiceMetrics.StageAttribute, stage), new(SluiceMetrics.StageKindAttribute, kind)];

    public string Stage { get; } = stage;

    public long Rows { get; private set; }

    public long Blocks { get; private set; }

    public long Bytes { get; private set; }

    public long Tasks { get; private set; }

    public long Retries { get; private set; }

    public long Backups { get; private set; }

    public long BackupsWon { get; private set; }

    public long Tokens { get; private set; }

    /// <summary>Time the stage spent back-pressured, summed over the intervals between the snapshots that showed it so.</summary>
    public double BackpressureSeconds { get; private set; }

    public OperatorSnapshot? Latest { get; private set; }

    /// <param name="sinceLast">Job time between the previous snapshot and this one.</param>
    public void Observe(OperatorSnapshot op, TimeSpan sinceLast)
    {
        // The interval up to this snapshot is charged to the state the previous one showed: that is what held during it.
        if (Latest?.BackPressure is not null && sinceLast > TimeSpan.Zero) BackpressureSeconds += sinceLast.TotalSeconds;
        Rows = Math.Max(Rows, op.RowsOut);
        Blocks = Math.Max(Blocks, op.BlocksOut);
        Bytes = Math.Max(Bytes, op.BytesOut);
        Tasks = Math.Max(Tasks, op.TasksDone);
        Retries = Math.Max(Retries, op.TaskRetries);
        Backups = Math.Max(Backups, op.BackupsLaunched);
        BackupsWon = Math.Max(BackupsWon, op.BackupsWon);
        Tokens = Math.Max(Tokens, op.TokensOut);
        Latest = op;
    }
}
