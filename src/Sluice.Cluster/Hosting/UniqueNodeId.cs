namespace Sluice.Cluster.Hosting;

/// <summary>
/// Refuses to start a node whose id is already a live member of the cluster. Runs after the membership table is
/// open and before this silo joins (it becomes Joining after the runtime's grain services start), so the live
/// member is never probed, suspected or replaced: two nodes with one id would make placement by id ambiguous.
/// </summary>
/// <remarks>
/// The stage: Orleans opens the membership table in <see cref="ServiceLifecycleStage.RuntimeGrainServices"/> (reading it
/// earlier fails) and writes this silo as Joining in <see cref="ServiceLifecycleStage.AfterRuntimeGrainServices"/>;
/// observers of one stage run concurrently, hence one stage after the first.
/// </remarks>
internal sealed class UniqueNodeId(ClusterNode node, IMembershipTable table, ILocalSiloDetails self) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(UniqueNodeId), ServiceLifecycleStage.RuntimeGrainServices + 1, CheckAsync);

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        var members = await table.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        var twin = members.Members.Select(m => m.Item1).FirstOrDefault(m =>
            m.SiloName == node.Id && !m.SiloAddress.Equals(self.SiloAddress) && m.Status is SiloStatus.Active or SiloStatus.Joining);
        if (twin is not null)
        {
            throw new SluiceException($"node id '{node.Id}' is already taken by a live member of the cluster ({twin.SiloAddress}, {twin.Status.ToString().ToLowerInvariant()} " +
                $"since {twin.StartTime:u}); give this node another --node-id, or stop that node first (a killed one is freed once the cluster declares it dead)");
        }
    }
}
