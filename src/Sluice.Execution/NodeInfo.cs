namespace Sluice.Execution;

/// <summary>A node of the runtime (the process itself in local mode, a worker silo in a cluster) and what it offers.</summary>
public sealed record NodeInfo(string Id, NodeResources Resources)
{
    /// <summary>The worker group the node was started for (<c>sluice worker --group NAME</c>); null when it belongs to none.</summary>
    public string? Group { get; init; }
}
