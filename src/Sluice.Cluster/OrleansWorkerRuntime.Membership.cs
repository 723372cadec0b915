using Sluice.Cluster.Hosting;
using Sluice.Execution;

namespace Sluice.Cluster;

/// <summary>The cluster's nodes as the driver sees them, and their comings and goings.</summary>
public sealed partial class OrleansWorkerRuntime
{
    /// <summary>How often the node list is refreshed from membership and silo metadata (both local, cached data).</summary>
    private static readonly TimeSpan WatchPeriod = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the driver reads the membership table itself, to learn whether Redis still answers (one small read).</summary>
    private static readonly TimeSpan RedisCheckPeriod = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the driver's silo may take to leave when its job is over: a graceful leave takes 1–2 s on loopback; with
    /// Redis gone Orleans would retry its membership writes for minutes (measured: the driver exited ~2 min after its job).
    /// Graceful for <see cref="LeaveGrace"/>, then non-graceful, abandoned after <see cref="LeaveBound"/>.
    /// </summary>
    private static readonly TimeSpan LeaveGrace = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan LeaveBound = TimeSpan.FromSeconds(10);

    /// <summary>The leave's bound when Redis is known to be down: a silo with nothing to record stops its listeners in well under a second.</summary>
    private static readonly TimeSpan LeaveBoundRedisDown = TimeSpan.FromSeconds(3);

    private readonly CancellationTokenSource _stopWatching = new();
    private string? _membershipProblem;
    private IReadOnlyList<NodeInfo> _nodes;
    private Task _watching = Task.CompletedTask;
    private int _watchStopped;

    /// <summary>
    /// A node became an active member with its resources known. Raised on a background thread, once
    /// per node; the executor may add the node's resources to its books (<c>ResourceManager.AddNode</c>).
    /// </summary>
    public event Action<NodeInfo>? NodeJoined;

    /// <summary>
    /// A node died or left: its actors and the blocks it held are gone. Raised on a background thread,
    /// once per node, about a second after a <c>kill -9</c> with <see cref="ClusterNodeOptions.FastFailureDetection"/>
    /// (about 12 s with Orleans' defaults). Calls in flight to it fail on their own with
    /// <see cref="Sluice.Contracts.ActorLostException"/> / <see cref="Sluice.Contracts.BlockLostException"/>.
    /// </summary>
    public event Action<NodeInfo>? NodeLeft;

    /// <summary>
    /// Something the operator should hear about the cluster itself, one line each (raised on a background thread):
    /// Redis became unreachable (the job goes on while the nodes can still talk to each other; membership cannot change),
    /// Redis answers again, and a leave abandoned because membership could not be updated. Never carries the Redis password.
    /// </summary>
    public event Action<string>? ClusterWarning;

    /// <summary>Why the cluster's membership cannot be read or updated now (Redis unreachable), or null when it can.</summary>
    public string? MembershipProblem => Volatile.Read(ref _membershipProblem);

    /// <summary>Every active node whose resources and grain types are known: this driver first, then the others by id.</summary>
    public IReadOnlyList<NodeInfo> Nodes => Volatile.Read(ref _nodes);

    /// <summary>Waits until at least <paramref name="count"/> nodes besides this driver have joined.</summary>
    public async Task WaitForWorkersAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            while (Nodes.Count - 1 < count) await Task.Delay(WatchPeriod / 2, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SluiceException($"cluster: {Nodes.Count - 1} worker node(s) joined within {timeout.TotalSeconds:0} s, {count} wanted; start workers with `sluice worker --cluster {_redis}`");
        }
    }

    private void StartWatching()
    {
        Refresh();
        _watching = Task.Run(async () =>
        {
            using var tick = new PeriodicTimer(WatchPeriod);
            var checking = Task.CompletedTask;
            var lastCheck = System.Diagnostics.Stopwatch.StartNew();
            while (await tick.WaitForNextTickAsync(_stopWatching.Token).ConfigureAwait(false))
            {
                Refresh();
                // Off the refresh loop: a read of an unreachable Redis takes seconds to fail.
                if (checking.IsCompleted && lastCheck.Elapsed >= RedisCheckPeriod)
                {
                    checking = CheckRedisAsync();
                    lastCheck.Restart();
                }
            }
        });
    }

    /// <summary>Reads the membership table once (through this driver's silo) and reports a change in whether Redis answers.</summary>
    private async Task CheckRedisAsync()
    {
        string? problem = null;
        try
        {
            await _membership.Refresh(cancellationToken: _stopWatching.Token).AsTask().WaitAsync(MembershipCheck.ReadTimeout, _stopWatching.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopWatching.IsCancellationRequested)
        {
            return;
        }
        catch (Orleans.Clustering.Redis.RedisClusteringException)
        {
            // Redis answers, but the table has no version row: Redis restarted empty (or the table was deleted).
            problem = $"the membership table at {_redis} is gone (Redis restarted empty, or the table expired or was deleted): membership can be neither read nor updated";
        }
        catch (Exception e)
        {
            // The type only: a client library's message may echo its configuration, password included.
            problem = $"Redis at {_redis} is unreachable ({(e is TimeoutException ? $"no answer within {MembershipCheck.ReadTimeout.TotalSeconds:0} s" : e.GetType().Name)}): " +
                "membership can be neither read nor updated";
        }
        var before = Interlocked.Exchange(ref _membershipProblem, problem);
        if (before is null && problem is not null) ClusterWarning?.Invoke($"driver {NodeId}: {problem}; the job goes on while the nodes can still talk to each other");
        else if (before is not null && problem is null) ClusterWarning?.Invoke($"driver {NodeId}: Redis at {_redis} answers again");
    }

    /// <summary>Stops the driver's own silo within <see cref="LeaveBound"/> (see <see cref="NodeStop"/>), saying why when Redis kept it from leaving cleanly.</summary>
    /// <remarks>
    /// When Redis was already found unreachable the leave cannot be recorded: the silo stops non-gracefully at once and is
    /// abandoned after <see cref="LeaveBoundRedisDown"/>, so that the driver exits seconds after its job.
    /// </remarks>
    private Task<bool> LeaveAsync(Microsoft.Extensions.Hosting.IHost host) => MembershipProblem is null
        ? NodeStop.StopAsync(host, "driver", LeaveGrace, LeaveBound, ClusterWarning)
        : NodeStop.StopAsync(host, "driver", TimeSpan.Zero, LeaveBoundRedisDown, ClusterWarning);

    private async Task StopWatchingAsync()
    {
        // Disposed by its owner and again by an application's service container: once is enough.
        if (Interlocked.Exchange(ref _watchStopped, 1) == 1) return;
        await _stopWatching.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watching.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stopWatching.Dispose();
    }

    private void Refresh()
    {
        var others = new List<NodeInfo>();
        foreach (var member in _membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active || member.Name == NodeId) continue;
            // Placement only targets silos whose grain types this silo has learned (the cluster manifest trails
            // membership by a moment): a node is usable once both are known, or its first actors would fail to place.
            if (!_manifests.Current.Silos.ContainsKey(member.SiloAddress)) continue;
            if (NodeMetadata.Read(_metadata.GetSiloMetadata(member.SiloAddress).Metadata) is { } info && info.Id == member.Name) others.Add(info);
        }
        var now = new List<NodeInfo> { new(NodeId, Resources) };
        now.AddRange(others.OrderBy(n => n.Id, StringComparer.Ordinal));
        var before = Interlocked.Exchange(ref _nodes, now);
        foreach (var left in before.Where(b => now.All(n => n.Id != b.Id))) NodeLeft?.Invoke(left);
        foreach (var joined in now.Where(n => before.All(b => b.Id != n.Id))) NodeJoined?.Invoke(joined);
    }
}
