namespace Sluice.Execution.Pools;

/// <summary>
/// Nodes suspected of being stuck: a node where every task of ours runs past its pool's straggler threshold while none
/// finished there for that long (a stopped process, a hung device, a partition) is suspected well before membership
/// declares it dead (~1 s with fast failure detection, tens of seconds with Orleans' defaults). A suspected node's
/// actors are retired and replaced elsewhere; the suspicion lifts when a task on the node finishes after all (it answers).
/// Loop-only state, like the rest of the executor's.
/// </summary>
internal sealed class NodeSuspicion
{
    private readonly Dictionary<string, long> _lastFinished = new(StringComparer.Ordinal);
    private readonly HashSet<string> _suspected = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Suspected => _suspected;

    public bool IsSuspected(string node) => _suspected.Count > 0 && _suspected.Contains(node);

    /// <summary>When a task last finished on <paramref name="node"/>; null if none has.</summary>
    public long? LastFinished(string node) => _lastFinished.TryGetValue(node, out var t) ? t : null;

    /// <summary>A task finished on <paramref name="node"/>: true when that lifts a suspicion.</summary>
    public bool Finished(string node, long nowTicks)
    {
        _lastFinished[node] = nowTicks;
        return _suspected.Remove(node);
    }

    /// <summary>True when the node was not suspected before.</summary>
    public bool Suspect(string node) => _suspected.Add(node);
}
