using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sluice.Cluster.Hosting;

namespace Sluice.Cluster;

/// <summary>A worker node: a silo that hosts actors and serves its blocks, until stopped.</summary>
public static class ClusterWorker
{
    /// <summary>Joins the cluster, calls <paramref name="started"/> with the node's id, and runs until <paramref name="cancellationToken"/> fires; then leaves gracefully.</summary>
    public static async Task RunAsync(ClusterNodeOptions options, Action<string>? started = null, CancellationToken cancellationToken = default)
    {
        using var host = ClusterHost.Build(options, "worker");
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        started?.Invoke(host.Services.GetRequiredService<ClusterNode>().Id);
        // SIGTERM and Ctrl-C reach the host's console lifetime (which keeps the process alive for a clean stop), or the caller's token.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken,
            host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        // A graceful leave: the cluster learns at once that this node is going, instead of after missed probes.
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
