namespace Sluice.Cluster.Autoscaling;

/// <summary>What an autoscaler decision does to a worker group.</summary>
public enum AutoscaleAction
{
    /// <summary>Ask the provider for more workers of the group.</summary>
    Add,

    /// <summary>Ask named workers of the group to drain and leave.</summary>
    Remove,

    /// <summary>Stop waiting for workers asked for that never joined (their places may be asked for again).</summary>
    GiveUp,
}

/// <summary>
/// One decision of the cluster autoscaler, a value with its reason: logged when made, kept for the job's stats.
/// </summary>
/// <param name="Action">Add, remove, or give up on launches.</param>
/// <param name="Group">The worker group it acts on.</param>
/// <param name="Count">How many workers.</param>
/// <param name="Reason">Why, in words: the demand, the idle time, the limit that applied.</param>
public sealed record AutoscaleDecision(AutoscaleAction Action, string Group, int Count, string Reason)
{
    /// <summary>The workers removed (node ids); empty for the other actions.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>When it was made, since the autoscaler started.</summary>
    public TimeSpan At { get; init; }

    public override string ToString() => Action switch
    {
        AutoscaleAction.Add => $"+{Count} {Group}: {Reason}",
        AutoscaleAction.Remove => $"-{Count} {Group} ({string.Join(", ", Nodes)}): {Reason}",
        _ => $"gave up on {Count} {Group} launch(es): {Reason}",
    };
}
