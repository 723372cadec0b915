using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// Keeps a worker process in the cluster (<c>sluice worker</c>): it joins, watches its own entry in the membership table,
/// and when the cluster has dropped it (Redis came back empty, or the silo was declared dead) it drops that silo and
/// builds a new one that joins again, under the same node id, backing off while Redis is down. SIGTERM and Ctrl-C
/// drain and leave, bounded whatever Redis does (<see cref="NodeStop"/>).
/// </summary>
internal static class WorkerSupervisor
{
    /// <summary>How often the worker reads its membership entry: a dropped worker is back within seconds of Redis, and one read of a few entries costs nothing.</summary>
    private static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(2);

    /// <summary>The first wait between rejoin attempts, doubled after each failure up to <see cref="MaxBackoff"/>.</summary>
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between rejoin attempts: a Redis back after an outage is found within this.</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Once drained, how long a worker asked to leave may take to leave. A graceful leave takes 1–2 s on loopback
    /// (Orleans' grace period is 5 s); past 5 s the silo stops non-gracefully, past 10 s it is abandoned.
    /// </summary>
    internal static readonly TimeSpan LeaveGrace = TimeSpan.FromSeconds(5);

    internal static readonly TimeSpan LeaveBound = TimeSpan.FromSeconds(10);

    /// <summary>The leave's bound when Redis is known to be down: nothing can be recorded, and a silo's listeners close in well under a second.</summary>
    internal static readonly TimeSpan LeaveBoundRedisDown = TimeSpan.FromSeconds(3);

    /// <summary>How long a dropped silo gets to stop (non-gracefully: the cluster no longer counts it) before it is abandoned.</summary>
    private static readonly TimeSpan DropBound = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(ClusterNodeOptions options, Action<string>? started, Action<string> log, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The worker's own signal handling: no host exists while it rejoins, yet SIGTERM must still drain and leave.
        void Leave(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Leave);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Leave);
        // One id for every silo this worker builds: drivers and autoscalers know the node by it.
        var fixedOptions = options with { NodeId = options.NodeId ?? ClusterHost.NewNodeId("worker"), Health = null };
        var health = new WorkerHealth(nodeId: fixedOptions.NodeId);
        // Outside the silo's host: liveness answers while the worker rejoins, readiness says why it is out.
        using var endpoint = options.Health is { } listen ? new HealthEndpoint(health, listen) : null;
        if (endpoint is not null) await endpoint.StartAsync(stop.Token).ConfigureAwait(false);
        try
        {
            var redis = RedisAddress.Resolve(fixedOptions.Redis, fixedOptions.RedisPasswordFile, caFile: fixedOptions.RedisCaFile);
            // The first join fails the command (a wrong address or password must say so, not loop); rejoins retry.
            var host = await ClusterHost.StartNewAsync(fixedOptions, "worker", log, stop.Token).ConfigureAwait(false);
            started?.Invoke(fixedOptions.NodeId);
            while (true)
            {
                var node = host.Services.GetRequiredService<ClusterNode>();
                health.Joined(node);
                string? dropped;
                using (NodeMetrics.Track(node))
                    dropped = await WatchAsync(host, redis, health, log, stop.Token).ConfigureAwait(false);
                if (dropped is null)
                {
                    // Asked to leave: drain (up to the drain timeout), then leave within LeaveBound, or at once when Redis is
                    // known to be down (there is no table to record the leave in: it would only wait).
                    var (grace, bound) = health.Out is null ? (LeaveGrace, LeaveBound) : (TimeSpan.Zero, LeaveBoundRedisDown);
                    await NodeStop.StopAsync(host, "worker", grace, bound, log, options.DrainTimeout,
                        () => node.Draining && node.TasksInFlight == 0 && node.HeldBlocks == 0).ConfigureAwait(false);
                    return;
                }
                log($"worker {node.Id}: dropped from the cluster: {dropped}; its silo stops and a new one joins");
                health.Rejoining($"node {node.Id} was dropped from the cluster ({dropped}); rejoining");
                await NodeStop.StopAsync(host, "worker", TimeSpan.Zero, DropBound, log).ConfigureAwait(false);
                var next = await RejoinAsync(fixedOptions, redis, health, log, stop.Token).ConfigureAwait(false);
                if (next is null)
                {
                    log($"worker {node.Id}: asked to leave while out of the cluster: nothing to drain");
                    return;
                }
                host = next;
            }
        }
        finally
        {
            if (endpoint is not null) await endpoint.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Watches the node until it is asked to leave (null) or has been dropped (the reason). While Redis is unreachable the
    /// node stays (its silo still serves the jobs running on it) but is not ready; each change of state is logged once.
    /// </summary>
    private static async Task<string?> WatchAsync(IHost host, RedisAddress redis, WorkerHealth health, Action<string> log, CancellationToken stop)
    {
        // A host built without the signal (none today) never reports a fatal error here.
        var fatal = host.Services.GetService<SiloFatalSignal>()?.Fatal ?? new TaskCompletionSource<string>().Task;
        var node = host.Services.GetRequiredService<ClusterNode>();
        string? unreachable = null;
        while (!stop.IsCancellationRequested)
        {
            var tick = Task.Delay(CheckPeriod, stop);
            if (await Task.WhenAny(tick, fatal).ConfigureAwait(false) == fatal) return redis.Scrub(await fatal.ConfigureAwait(false));
            if (stop.IsCancellationRequested) break;
            MembershipState state;
            try
            {
                state = await MembershipCheck.CheckAsync(host, redis, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            switch (state)
            {
                case MembershipState.Dropped d:
                    return d.Reason;
                case MembershipState.Unreachable u:
                    if (unreachable is null) log($"worker {node.Id}: {u.Reason}; the node stays (its silo still serves the nodes it can reach) but is not ready until Redis answers");
                    unreachable = u.Reason;
                    health.SetOut($"node {node.Id}: {u.Reason}");
                    break;
                default:
                    if (unreachable is not null) log($"worker {node.Id}: Redis at {redis} answers again and lists this node: ready");
                    unreachable = null;
                    health.SetOut(null);
                    break;
            }
        }
        return null;
    }

    /// <summary>Builds and starts a new silo until one joins (backing off while Redis is down), or returns null when asked to leave meanwhile.</summary>
    private static async Task<IHost?> RejoinAsync(ClusterNodeOptions options, RedisAddress redis, WorkerHealth health, Action<string> log, CancellationToken stop)
    {
        var backoff = FirstBackoff;
        for (var attempt = 1; !stop.IsCancellationRequested; attempt++)
        {
            log($"worker {options.NodeId}: rejoining the cluster at {redis}, attempt {attempt}");
            try
            {
                var host = await ClusterHost.StartNewAsync(options, "worker", log, stop).ConfigureAwait(false);
                log($"worker {options.NodeId}: rejoined the cluster at {redis} (attempt {attempt})");
                return host;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception e)
            {
                var why = e is SluiceException ? e.Message : redis.Scrub($"{e.GetType().Name}: {e.Message}");
                health.Rejoining($"node {options.NodeId} is rejoining (attempt {attempt} failed: {why})");
                log($"worker {options.NodeId}: rejoin attempt {attempt} failed: {why}; next attempt in {backoff.TotalSeconds:0} s");
            }
            try
            {
                await Task.Delay(backoff, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
        return null;
    }
}
