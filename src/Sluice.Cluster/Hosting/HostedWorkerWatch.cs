using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// What a worker hosted in an application's own host (<see cref="SluiceHosting.AddSluiceWorker"/>) does when the cluster
/// has dropped it. Orleans never lets a silo back in once dropped, and that host — not Sluice — owns the silo, so it
/// cannot be rebuilt in place as <c>sluice worker</c> does: when the membership table no longer lists the node (Redis came
/// back empty) or lists it dead, this says why and stops the application with <see cref="ExitCodeDropped"/>, so its
/// supervisor (Kubernetes, systemd) starts it again and it joins anew. While Redis is unreachable nothing is done: the
/// silo still serves the nodes it can reach, and the table is read again every <see cref="CheckPeriod"/>.
/// </summary>
internal sealed class HostedWorkerWatch(IServiceProvider services, ClusterNodeOptions options, Action<string> log) : BackgroundService
{
    /// <summary>75, EX_TEMPFAIL: a temporary failure, try again — what a supervisor's restart is for.</summary>
    public const int ExitCodeDropped = 75;

    /// <summary>As often as <c>sluice worker</c> reads its entry: back within seconds of Redis, and a read of a few entries costs nothing.</summary>
    private static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var host = services.GetRequiredService<IHost>();
        var node = services.GetRequiredService<ClusterNode>();
        var redis = RedisAddress.Resolve(options.Redis, options.RedisPasswordFile, caFile: options.RedisCaFile);
        while (!stoppingToken.IsCancellationRequested)
        {
            MembershipState state;
            try
            {
                await Task.Delay(CheckPeriod, stoppingToken).ConfigureAwait(false);
                state = await MembershipCheck.CheckAsync(host, redis, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            if (state is not MembershipState.Dropped dropped) continue;
            log($"worker {node.Id}: dropped from the cluster: {dropped.Reason}; a worker hosted in an application cannot rejoin in place, " +
                $"so the application stops with exit code {ExitCodeDropped} for its supervisor to start it again");
            Environment.ExitCode = ExitCodeDropped;
            services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
            return;
        }
    }
}
