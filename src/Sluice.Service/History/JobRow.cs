namespace Sluice.Service.History;

/// <summary>One job as the history keeps it (one row of the <c>jobs</c> table).</summary>
internal sealed record JobRow(
    string Id,
    string Name,
    string Spec,
    JobState State,
    string? Reason,
    DateTimeOffset Submitted,
    DateTimeOffset? Started,
    DateTimeOffset? Ended,
    string? StatsJson,
    string? Error,
    string? Log,
    long? RowsTotal,
    int Runs);
