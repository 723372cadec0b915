namespace Sluice.Cluster.Hosting;

/// <summary>Marks the node joined once its silo is an active member (what readiness reports), and not before.</summary>
internal sealed class NodeJoined(ClusterNode node) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NodeJoined), ServiceLifecycleStage.Active, _ =>
        {
            node.MarkJoined();
            return Task.CompletedTask;
        }, _ =>
        {
            node.MarkLeaving();
            return Task.CompletedTask;
        });
}
