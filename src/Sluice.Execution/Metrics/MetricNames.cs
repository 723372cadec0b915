namespace Sluice.Execution.Metrics;

/// <summary>The instruments' names and units (OpenTelemetry semantic conventions: dotted names, UCUM units, counts in braces).</summary>
internal static class MetricNames
{
    public const string Rows = "sluice.stage.rows";
    public const string Blocks = "sluice.stage.blocks";
    public const string Bytes = "sluice.stage.bytes";
    public const string Tasks = "sluice.stage.tasks";
    public const string ActiveTasks = "sluice.stage.active_tasks";
    public const string Retries = "sluice.stage.retries";
    public const string Backups = "sluice.stage.backups";
    public const string BackupsWon = "sluice.stage.backups_won";
    public const string Tokens = "sluice.stage.tokens";
    public const string QueueBlocks = "sluice.stage.queue.blocks";
    public const string QueueBytes = "sluice.stage.queue.bytes";
    public const string HeldBytes = "sluice.stage.held_bytes";
    public const string Actors = "sluice.stage.actors";
    public const string ActorTarget = "sluice.stage.actor_target";
    public const string BackpressureTime = "sluice.stage.backpressure_time";
    public const string ScalingDecisions = "sluice.scaling.decisions";
    public const string DeviceBusyTime = "sluice.device.busy_time";
    public const string DeviceAllocation = "sluice.device.allocation";
    public const string NodeActors = "sluice.node.actors";
    public const string MemoryUsage = "sluice.job.memory.usage";
    public const string MemoryLimit = "sluice.job.memory.limit";
    public const string Elapsed = "sluice.job.elapsed_time";
    public const string Progress = "sluice.job.progress";
    public const string Remaining = "sluice.job.remaining_time";

    /// <summary>The state of an actor: busy (running a task), idle (ready, nothing in flight), starting (loading its model).</summary>
    public const string StateAttribute = "state";

    /// <summary>A scaling decision's direction: up, down or hold.</summary>
    public const string DirectionAttribute = "direction";

    public const string DeviceAttribute = "sluice.device";
}
