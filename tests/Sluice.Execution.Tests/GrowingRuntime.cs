using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

/// <summary>
/// The local runtime dressed as a cluster whose membership the test changes: it starts with only the driver's node
/// (no resources for actors) and gains nodes by <see cref="Join"/>, as when an autoscaler's worker joins. Actors
/// placed on a joined node run in this process.
/// </summary>
internal sealed class GrowingRuntime : IWorkerRuntime
{
    private readonly LocalWorkerRuntime _inner = new(new NodeResources(0, 0, 1L << 30));
    private IReadOnlyList<NodeInfo> _nodes;

    public GrowingRuntime() => _nodes = [new NodeInfo(_inner.NodeId, _inner.Resources)];

    public void Join(NodeInfo node) => Volatile.Write(ref _nodes, [.. _nodes, node]);

    public string NodeId => _inner.NodeId;

    public NodeResources Resources => _inner.Resources;

    public IReadOnlyList<NodeInfo> Nodes => Volatile.Read(ref _nodes);

    public long StoredBytes => _inner.StoredBytes;

    public BlockRef Put(Block block) => _inner.Put(block);

    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => _inner.GetAsync(block, cancellationToken);

    public void Free(BlockRef block) => _inner.Free(block);

    public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
        _inner.RunReadAsync(task, taskIndex, blockRows, transform, callbacks, cancellationToken);

    public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) => _inner.RunTaskAsync(work, input, cancellationToken);

    public Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken) => _inner.StartActorAsync(spec, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
