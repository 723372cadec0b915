using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

/// <summary>
/// The local runtime with a node's death injected where a cluster would show it: the first fetch of
/// chosen blocks fails as lost, and chosen actors die on their first task. Used to drive the
/// executor's recovery deterministically; the real thing is tested with worker processes in Sluice.Cluster.Tests.
/// </summary>
internal sealed class FaultyRuntime(Func<BlockLineage, bool> loseBlock, Func<int, bool> killActor) : IWorkerRuntime
{
    private readonly LocalWorkerRuntime _inner = new(new NodeResources(4, 0, 1L << 30));
    private readonly HashSet<string> _lost = [];
    private readonly HashSet<Guid> _lostIds = [];

    public int BlocksLost { get; private set; }

    public int ActorsKilled { get; private set; }

    public string NodeId => _inner.NodeId;

    public NodeResources Resources => _inner.Resources;

    public IReadOnlyList<NodeInfo> Nodes => _inner.Nodes;

    public long StoredBytes => _inner.StoredBytes;

    public BlockRef Put(Block block) => _inner.Put(block);

    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken)
    {
        lock (_lost)
        {
            if (loseBlock(block.Lineage) && _lost.Add(block.Lineage.Key))
            {
                BlocksLost++;
                _inner.Free(block);
                _lostIds.Add(block.Id);
                throw new BlockLostException(block);
            }
            // The stored block went with its node: every slice viewing it is lost too.
            if (_lostIds.Contains(block.Id)) throw new BlockLostException(block);
        }
        return _inner.GetAsync(block, cancellationToken);
    }

    public void Free(BlockRef block) => _inner.Free(block);

    public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
        _inner.RunReadAsync(task, taskIndex, blockRows, transform, callbacks, cancellationToken);

    public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) =>
        Task.Run(async () => Put(await work(await GetAsync(input, cancellationToken), cancellationToken)), cancellationToken);

    public async Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken) =>
        new Actor(this, await _inner.StartActorAsync(spec, cancellationToken), killActor(spec.Index));

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private sealed class Actor(FaultyRuntime runtime, IActorHandle inner, bool dies) : IActorHandle
    {
        private int _dead;

        public ActorSpec Spec => inner.Spec;

        public Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken)
        {
            if (dies && Interlocked.Exchange(ref _dead, 1) == 0)
            {
                lock (runtime._lost) runtime.ActorsKilled++;
            }
            if (dies) return Task.FromException<BlockRef>(new ActorLostException($"actor {Spec.Index} lost with its node"));
            return FetchThenRunAsync(input, cancellationToken);
        }

        private async Task<BlockRef> FetchThenRunAsync(BlockRef input, CancellationToken cancellationToken)
        {
            _ = await runtime.GetAsync(input, cancellationToken); // a remote actor fetches its input: a lost block shows here
            return await inner.RunAsync(input, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
