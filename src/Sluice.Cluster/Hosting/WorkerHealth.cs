namespace Sluice.Cluster.Hosting;

/// <summary>
/// What a worker's health endpoint reports, across the silos it rebuilds: the node of its current silo (null between
/// two), and why it is out of the cluster while it is (Redis unreachable, dropped from membership, rejoining).
/// Written by the worker's supervisor, read by <see cref="HealthEndpoint"/>.
/// </summary>
internal sealed class WorkerHealth(ClusterNode? node = null, string? nodeId = null)
{
    /// <summary>The node's id, known before its first silo exists (for the answers given meanwhile).</summary>
    public string? NodeId { get; } = nodeId ?? node?.Id;

    private volatile ClusterNode? _node = node;
    private volatile string? _out;

    /// <summary>The node of the silo running now; null while the worker has none (it is rejoining).</summary>
    public ClusterNode? Node => _node;

    /// <summary>Why the node cannot count as a member now (one line), or null when nothing says so.</summary>
    public string? Out => _out;

    public void Joined(ClusterNode current)
    {
        _node = current;
        _out = null;
    }

    public void SetOut(string? why) => _out = why;

    public void Rejoining(string why)
    {
        _node = null;
        _out = why;
    }
}
