using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

/// <summary>
/// The local runtime with a node's death injected where a cluster would show it: the first fetch of
/// chosen blocks fails as lost, and chosen actors die on their first task. Used to drive the
/// executor's recovery deterministically; the real thing is tested with worker processes in Sluice.Cluster.Tests.
/// </summary>
/// <param name="killFirstRunner">The actor given the job's first task dies (on it and on any later one), whichever actor that
/// is: dispatch is most-recently-used, so a chosen index may never be given a task when another keeps up with the input.</param>
/// <param name="loseRef">Chooses blocks to lose by their ref (e.g. those carrying dead letters: a stage's output, not its input).</param>
internal sealed class FaultyRuntime(Func<BlockLineage, bool> loseBlock, Func<int, bool> killActor, bool killFirstRunner = false, Func<BlockRef, bool>? loseRef = null) : IWorkerRuntime
{
    private readonly bool _killFirstRunner = killFirstRunner;
    private bool _firstRunGiven;

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
            if ((loseBlock(block.Lineage) || loseRef?.Invoke(block) == true) && _lost.Add(block.Lineage.Key))
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

    private sealed class Actor(FaultyRuntime runtime, IActorHandle inner, bool killedByIndex) : IActorHandle
    {
        private bool? _dies;

        public ActorSpec Spec => inner.Spec;

        public Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken)
        {
            bool dies;
            lock (runtime._lost)
            {
                if (_dies is null)
                {
                    _dies = killedByIndex || (runtime._killFirstRunner && !runtime._firstRunGiven);
                    if (_dies.Value) runtime.ActorsKilled++;
                }
                runtime._firstRunGiven = true;
                dies = _dies.Value;
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
