using Orleans.Runtime.Placement;

namespace Sluice.Cluster.Placement;

/// <summary>
/// Maps a grain's key to the silo of the node it names. Directors run separately on every silo, so
/// the answer depends only on the key and the membership every silo shares: the active silo whose
/// name is the node id. When that node is gone, placement fails and the caller learns the actor
/// (or block store) is lost, rather than having it silently re-created on some other node.
/// </summary>
internal sealed class NodePlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var node = NodeOf(target.GrainIdentity.Key.ToString()!);
        var compatible = context.GetCompatibleSilos(target);
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && member.Name == node && compatible.Contains(member.SiloAddress))
                return Task.FromResult(member.SiloAddress);
        }
        throw new NodeGoneException($"node '{node}' is not an active member of the cluster (it died or left)");
    }

    public static string NodeOf(string key)
    {
        var bar = key.IndexOf('|', StringComparison.Ordinal);
        return bar < 0 ? key : key[..bar];
    }
}
