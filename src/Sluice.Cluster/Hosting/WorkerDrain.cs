using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// Drains a worker when its host stops, before its silo leaves: registered after the silo, it is stopped before it
/// (the host stops its services in reverse order), so the node refuses new work, finishes what it holds and hands
/// its blocks to their drivers while it is still a member (see <see cref="ClusterWorker.DrainAsync"/>).
/// </summary>
internal sealed class WorkerDrain(ClusterNode node, BlockHandOff handOff, TimeSpan timeout, Action<string> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await ClusterWorker.DrainAsync(node, handOff, timeout, log).ConfigureAwait(false);
        // A graceful leave follows: the cluster learns at once that this node is going, instead of after missed probes.
        log($"worker {node.Id}: leaving the cluster");
    }
}
