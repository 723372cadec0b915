namespace Sluice.Inference.Partitioning;

/// <summary>Per-node cost in one unit, and how it was obtained (shown as <see cref="PartitionPlan.CostModel"/>).</summary>
/// <param name="PerNode">Cost of each top-level node, indexed like <see cref="GraphIndex.Nodes"/>.</param>
/// <param name="Model">How the costs were obtained, in words.</param>
/// <param name="Unit">The unit of <paramref name="PerNode"/>: <see cref="Microseconds"/> or <see cref="ProxyUnit"/>.</param>
internal sealed record NodeCosts(double[] PerNode, string Model, string Unit)
{
    public const string Microseconds = "microseconds";

    public const string ProxyUnit = "flop-proxy";

    /// <summary>The FLOP proxy of <see cref="GraphIndex.Cost"/>; <paramref name="why"/> says why nothing was measured, when that was asked for.</summary>
    public static NodeCosts Proxy(GraphIndex g, string? why = null) =>
        new(g.Cost, why is null ? $"estimated: {GraphIndex.CostModel}" : $"estimated: {GraphIndex.CostModel}; {why}", ProxyUnit);

    public bool Measured => Unit == Microseconds;
}
