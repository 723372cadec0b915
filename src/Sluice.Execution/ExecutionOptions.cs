using Microsoft.Extensions.Logging;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution;

/// <summary>Which actor with a free slot gets the next task.</summary>
public enum DispatchPolicy
{
    /// <summary>The actor that finished a task most recently: load concentrates on a hot set, surplus actors go idle and are released.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("mru")]
    MostRecentlyUsed,

    /// <summary>The actor with the fewest tasks in flight: load spreads evenly.</summary>
    LeastLoaded,
}

/// <summary>How a job runs. Every default is here and only here.</summary>
public sealed record ExecutionOptions
{
    /// <summary>Bytes of blocks in flight across all operators; null = <see cref="DefaultMemoryBudget"/>.</summary>
    /// <remarks>
    /// What the process really uses, measured (<c>bench memory</c>: a 64 MiB budget, 2 cores, Server GC, 2026-11-30):
    /// peak RSS stays within 2.6x the budget with blocks of 1,024 rows whatever the input's size (1x, 10x, 100x the
    /// budget: 1.7x to 2.5x over several runs; 2.0x when a stage consumes its input's columns, whose memory is then
    /// released as soon as the block is), and within 7x with one-row blocks (5.2x to 6.7x: freed blocks' managed
    /// objects, and the native memory of blocks a sink was given, wait for the GC and finalizers). A job's fixed floor
    /// (~46 MiB of RSS) is in these figures, so a smaller budget sees a larger factor.
    /// </remarks>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Deliver blocks in input order (read task, then block). Costs a reorder buffer.</summary>
    public bool PreserveOrder { get; init; }

    public WriteMode WriteMode { get; init; } = WriteMode.ErrorIfExists;

    /// <summary>The node's resources; null = detected.</summary>
    public NodeResources? Resources { get; init; }

    /// <summary>An actor idle this long is released (down to the pool's min) and its resources go to other operators.</summary>
    public TimeSpan ActorIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public DispatchPolicy Dispatch { get; init; } = DispatchPolicy.MostRecentlyUsed;

    /// <summary>Retries of a task that failed for a reason other than bad input.</summary>
    public int MaxTaskRetries { get; init; } = 2;

    /// <summary>The job stops (cleanly: committed output stays, resumable) once it has run this long; null = no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The job stops (cleanly, resumable) when no stage has made progress — no block read, no task finished, no block
    /// committed, no actor started — for this long, saying which stage is stuck on what; null = never.
    /// </summary>
    public TimeSpan? NoProgressTimeout { get; init; }

    /// <summary>After this long without progress the snapshot (<see cref="Stats.ExecutionSnapshot.Stall"/>) and the log say what each stage waits on.</summary>
    public TimeSpan StallNotice { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Backup copies of straggling tasks, and suspicion of nodes whose tasks stopped finishing.</summary>
    public SpeculationOptions Speculation { get; init; } = new();

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The job's name in its metrics (the <c>sluice.job</c> attribute): the spec's name. Jobs running at once should have distinct names.</summary>
    public string JobName { get; init; } = "job";

    /// <summary>Where tasks and actors live; null = an in-process <see cref="LocalWorkerRuntime"/>.</summary>
    public IWorkerRuntime? Runtime { get; init; }

    /// <summary>
    /// Nodes the cluster may still gain while the job runs: one entry per kind of worker an autoscaler can add (what one
    /// such worker offers). When any is given, a pool whose minimum does not fit the nodes at start waits for capacity
    /// instead of failing, and the pre-start checks count these nodes as possible homes for a stage's actors.
    /// Empty by default: the nodes are what they are.
    /// </summary>
    public IReadOnlyList<NodeResources> MayAdd { get; init; } = [];

    /// <summary>Whether an autoscaler may add nodes (<see cref="MayAdd"/> is not empty).</summary>
    public bool CapacityMayGrow => MayAdd.Count > 0;

    /// <summary>A quarter of the memory, between 256 MiB and 4 GiB: room for the models and the runtime beside the blocks.</summary>
    public static long DefaultMemoryBudget(long memoryBytes) =>
        Math.Clamp(memoryBytes / 4, 256L << 20, 4L << 30);

    public IEnumerable<string> Validate()
    {
        if (MemoryBudgetBytes is <= 0) yield return $"memory_budget: {MemoryBudgetBytes} is not accepted; give a positive byte count such as 512MiB";
        if (ActorIdleTimeout < TimeSpan.Zero) yield return $"actor_idle_timeout: {ActorIdleTimeout} is not accepted; give 0 or more";
        if (MaxTaskRetries < 0) yield return $"max_task_retries: {MaxTaskRetries} is not accepted; give 0 or more";
        if (Timeout is { } t && t <= TimeSpan.Zero) yield return $"timeout: {t} is not accepted; give a positive duration or leave it out";
        if (NoProgressTimeout is { } n && n <= TimeSpan.Zero) yield return $"no_progress_timeout: {n} is not accepted; give a positive duration or leave it out";
        if (StallNotice <= TimeSpan.Zero) yield return $"stall_notice: {StallNotice} is not accepted; give a positive duration";
        foreach (var problem in Speculation.Validate()) yield return problem;
    }
}
