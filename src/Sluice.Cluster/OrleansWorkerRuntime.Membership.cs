using Sluice.Cluster.Hosting;
using Sluice.Execution;

namespace Sluice.Cluster;

/// <summary>The cluster's nodes as the driver sees them, and their comings and goings.</summary>
public sealed partial class OrleansWorkerRuntime
{
    /// <summary>How often the node list is refreshed from membership and silo metadata (both local, cached data).</summary>
    private static readonly TimeSpan WatchPeriod = TimeSpan.FromMilliseconds(250);

    private readonly CancellationTokenSource _stopWatching = new();
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
            while (await tick.WaitForNextTickAsync(_stopWatching.Token).ConfigureAwait(false)) Refresh();
        });
    }

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
