using Sluice.Contracts;

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
    bool Done)
{
    /// <summary>Actor pools: how many actors the balancer wants now, and why.</summary>
    public int? Target { get; init; }

    public string? TargetReason { get; init; }

    /// <summary>Actor pools: measured actor time per row, in milliseconds.</summary>
    public double? CostMsPerRow { get; init; }

    /// <summary>Actor pools: the most actors ready at once.</summary>
    public int PeakActors { get; init; }

    /// <summary>What each actor holds.</summary>
    public string? Resources { get; init; }

    /// <summary>Actor pools: blocks cut into slices to spread them over spare actors.</summary>
    public long BlocksSliced { get; init; }

    /// <summary>Rows the operator's stages failed on and dropped (on_error skip or dead_letter), counted as their blocks leave the last stage.</summary>
    public long ErroredRows { get; init; }

    /// <summary>Actor pools: small blocks that joined another block's task (coalesced into its batches).</summary>
    public long BlocksCoalesced { get; init; }

    /// <summary>Actor pools: backup copies launched for straggling tasks (speculative execution).</summary>
    public long BackupsLaunched { get; init; }

    /// <summary>Tokens generated into its output blocks (a <c>generate</c> stage's <c>completion_tokens</c>; later stages pass them on).</summary>
    public long TokensOut { get; init; }

    /// <summary><see cref="TokensOut"/> per second of the operator's running time.</summary>
    public double TokensPerSecond { get; init; }

    /// <summary>Actor pools: backup copies that finished first (their original was cancelled and its output discarded).</summary>
    public long BackupsWon { get; init; }
}

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

    /// <summary>Time the control loop spent working in its turns (not waiting for events): the engine's own cost.</summary>
    public TimeSpan LoopBusy { get; init; }

    /// <summary>Turns the control loop has taken.</summary>
    public long LoopTurns { get; init; }

    /// <summary>Set while no stage has made progress for <see cref="ExecutionOptions.StallNotice"/>: for how long, and what each stage waits on.</summary>
    public string? Stall { get; init; }

    /// <summary>Nodes suspected now (every task there running past its straggler threshold, none finished): why, per node.</summary>
    public IReadOnlyList<string> Suspected { get; init; } = [];

    /// <summary>Share of each GPU allocated to actors now (0..1).</summary>
    public IReadOnlyList<double> DeviceAllocation { get; init; } = [];

    /// <summary>The most of each GPU ever allocated at once (never above 1).</summary>
    public IReadOnlyList<double> PeakDeviceAllocation { get; init; } = [];

    /// <summary>The most cpus ever allocated to actors at once.</summary>
    public double PeakCpusAllocated { get; init; }

    /// <summary>Simulated GPUs: held (busy) time over wall time since the job started, per device.</summary>
    public IReadOnlyList<double> DeviceUtilization { get; init; } = [];

    /// <summary>Simulated GPUs: time really held so far, per device (for utilization over a window).</summary>
    public IReadOnlyList<TimeSpan> DeviceBusy { get; init; } = [];

    /// <summary>
    /// Simulated GPUs: time asked for so far, per device. Held time above it is the clock's overshoot, not work;
    /// both are shown so the overshoot is never read as utilization.
    /// </summary>
    public IReadOnlyList<TimeSpan> DeviceAsked { get; init; } = [];

    /// <summary>Simulated GPUs: asked time over wall time since the job started, per device.</summary>
    public IReadOnlyList<double> DeviceAskedUtilization { get; init; } = [];

    /// <summary>
    /// Actors the pools want and that fit no node now, per pool (empty when every wanted actor has a place). A cluster
    /// autoscaler reads it to add workers; in local mode it only says why a pool stays below its target.
    /// </summary>
    public IReadOnlyList<ActorDemand> Unmet { get; init; } = [];

    /// <summary>The job's actors on each node now, starting and stopping ones included (a node absent here holds none).</summary>
    public IReadOnlyDictionary<string, int> ActorsPerNode { get; init; } = new Dictionary<string, int>();

    /// <summary>What the source noticed without failing (e.g. invalid UTF-8 read as U+FFFD); set on the final snapshot.</summary>
    public IReadOnlyList<SourceWarning> Warnings { get; init; } = [];
}
