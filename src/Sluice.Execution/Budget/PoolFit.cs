using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>One actor pool's floor: <c>pool.min</c> actors, each holding <paramref name="PerActor"/>.</summary>
public sealed record PoolFloor(string Stage, int Min, ResourceRequest PerActor);

/// <summary>
/// Whether every pool's <c>min</c> actors can hold their resources at once on the given nodes, packed the way the
/// resource manager places them. A job whose floors do not fit would wait for resources forever; it is refused first.
/// </summary>
public static class PoolFit
{
    /// <returns>The first pool whose floor does not fit, with how many of its actors did; null when all fit.</returns>
    public static (PoolFloor Pool, int Placed)? FirstMisfit(IReadOnlyList<PoolFloor> pools, IReadOnlyList<NodeResources> nodes)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0) return pools.FirstOrDefault(p => p.Min > 0) is { } first ? (first, 0) : null;
        var manager = new ResourceManager([.. nodes.Select((n, i) => new NodeInfo($"node{i}", n))]);
        foreach (var pool in pools)
        {
            for (var placed = 0; placed < pool.Min; placed++)
                if (pool.PerActor.IsEmpty is false && manager.TryAcquire(pool.PerActor) is null) return (pool, placed);
        }
        return null;
    }
}
