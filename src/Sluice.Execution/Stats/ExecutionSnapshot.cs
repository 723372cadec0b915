namespace Sluice.Execution.Stats;

/// <summary>One operator's numbers at one moment: what the live progress and the stats table show.</summary>
public sealed record OperatorSnapshot(
    string Name,
    string Kind,
    long RowsOut,
    long BlocksOut,
    long BytesOut,
    int TasksRunning,
    long TasksDone,
    long TaskRetries,
    int QueuedBlocks,
    long QueuedBytes,
    long OutputBytes,
    int ActorsReady,
    int ActorsStarting,
    int ActorsIdle,
    int ActorsStarted,
    string? BackPressure,
    string? LastScaling,
    double RowsPerSecond,
    TimeSpan BusyTime,
    bool Done);

/// <summary>The whole job at one moment.</summary>
public sealed record ExecutionSnapshot(
    IReadOnlyList<OperatorSnapshot> Operators,
    long UsedBytes,
    long PeakUsedBytes,
    long BudgetBytes,
    TimeSpan Elapsed,
    string Resources)
{
    public static ExecutionSnapshot Empty { get; } = new([], 0, 0, 0, TimeSpan.Zero, "");
}
