namespace Sluice.Execution;

/// <summary>A node of the runtime (the process itself in local mode, a worker silo in a cluster) and what it offers.</summary>
public sealed record NodeInfo(string Id, NodeResources Resources);
