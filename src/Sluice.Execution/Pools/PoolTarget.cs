namespace Sluice.Execution.Pools;

/// <summary>What the balancer sees of one actor pool: plain values, read by the loop from the pool's operator.</summary>
/// <param name="Kind">The contended resource the pool's actors hold ("gpus", "cpus"), or null when they hold neither.</param>
/// <param name="Amount">How much of <paramref name="Kind"/> one actor holds.</param>
/// <param name="Live">Actors that are not stopping.</param>
/// <param name="CostPerRow">Seconds of actor time per row from finished tasks; null until one finished.</param>
/// <param name="Active">Whether more input may still come (false once its input is exhausted).</param>
/// <param name="HasBacklog">Whether blocks wait in its queue.</param>
/// <param name="OneMoreFits">Whether the resources of one more actor are free now.</param>
internal sealed record PoolView(string Name, string? Kind, double Amount, int Min, int Max, int Live, double? CostPerRow, bool Active, bool HasBacklog, bool OneMoreFits);

/// <summary>
/// The balancer's decision for one pool, a value with its reason: how many actors it should have now, and whether
/// it should give back its surplus because another pool of the same resource waits for actors it cannot get.
/// </summary>
internal sealed record PoolTarget(int Target, bool ShouldYield, string? Reason)
{
    public override string ToString() => $"target {Target}{(ShouldYield ? ", yield the surplus" : "")}{(Reason is null ? "" : $": {Reason}")}";
}
