using Sluice.Contracts;

namespace Sluice.Execution.Stats;

/// <summary>
/// Actors a pool wants now and cannot place on any node: what a cluster autoscaler would add workers for.
/// It counts only actors that fit no node as the cluster stands; actors that merely wait for a busy node's
/// resources to free up are not unmet demand once they fit.
/// </summary>
/// <param name="Stage">The actor pool's stage.</param>
/// <param name="PerActor">What one of its actors holds (what a new worker must offer to take one).</param>
/// <param name="Actors">How many more actors it wants.</param>
public sealed record ActorDemand(string Stage, ResourceRequest PerActor, int Actors)
{
    public override string ToString() => $"stage '{Stage}' wants {Actors} more actor(s) x {PerActor}";
}
