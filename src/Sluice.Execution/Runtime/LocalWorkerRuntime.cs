using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.Execution.Runtime;

/// <summary>
/// The embedded default: tasks and actors run in this process on the thread pool, blocks live in an
/// in-memory store and move between stages by reference, never copied.
/// </summary>
public sealed class LocalWorkerRuntime : IWorkerRuntime
{
    private readonly LocalBlockStore _store;

    /// <param name="nodeId">The node the refs name: "local" embedded; a cluster node's id when this is one node's store and task runner.</param>
    public LocalWorkerRuntime(NodeResources? resources = null, string nodeId = "local")
    {
        Resources = resources ?? NodeResources.Detect();
        NodeId = nodeId;
        _store = new LocalBlockStore(NodeId);
        EnsureThreads();
    }

    /// <summary>
    /// Model runs block their thread for the whole batch (a native call). The thread pool starts with
    /// one thread per core and adds more only about once a second when all are blocked, so on a
    /// 2-core machine two busy actors starved reads, tokenizing, writes and the executor's own loop
    /// (measured: a 1,500-row MiniLM job took 73 s instead of 12 s). Raising the pool's floor lets
    /// that light work get a thread at once; threads exist only while there is work for them.
    /// </summary>
    private static void EnsureThreads()
    {
        const int PerCore = 8;
        ThreadPool.GetMinThreads(out var workers, out var io);
        var wanted = Environment.ProcessorCount * PerCore + 16;
        if (workers < wanted) ThreadPool.SetMinThreads(wanted, io);
    }

    public string NodeId { get; }

    public NodeResources Resources { get; }

    public IReadOnlyList<NodeInfo> Nodes => [new NodeInfo(NodeId, Resources)];

    public long StoredBytes => _store.Bytes;

    public BlockRef Put(Block block) => _store.Put(block);

    /// <remarks>
    /// In-process: the block is in this store, so this completes synchronously. The caller (a sink, the job's consumer)
    /// may keep the block: its memory is left to the GC, not released when the block is freed.
    /// </remarks>
    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => ValueTask.FromResult(_store.Lend(block));

    /// <summary>
    /// A block held in this process's store (a cluster node serving its own blocks): memory only, no network, so
    /// synchronous. As <see cref="GetAsync"/>, the caller may keep it.
    /// </summary>
    public Block GetStored(BlockRef block) => _store.Lend(block);

    /// <summary>
    /// A stored block for a reader done with it before the block is freed (a copy to another node, a task's input): its
    /// memory is released when the block is freed (<see cref="Free"/>).
    /// </summary>
    public Block Borrow(BlockRef block) => _store.Get(block);

    /// <summary>Native Arrow allocations released when the blocks holding them were freed.</summary>
    public long FreedAllocations => _store.FreedAllocations;

    public void Free(BlockRef block) => _store.Free(block);

    public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            var seq = 0;
            long firstRow = 0;
            var batches = task.ReadAsync(blockRows, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (batches.ConfigureAwait(false))
            {
                while (true)
                {
                    // Ask before pulling: a paused reader holds no unread block.
                    await callbacks.WaitForCreditAsync(cancellationToken).ConfigureAwait(false);
                    if (!await batches.MoveNextAsync().ConfigureAwait(false)) break;
                    var block = new Block(batches.Current, new BlockLineage(taskIndex, task.Id, seq, firstRow));
                    firstRow += block.Rows;
                    if (transform is not null) block = await transform(block, cancellationToken).ConfigureAwait(false);
                    callbacks.OnBlock(_store.Put(block));
                    seq++;
                }
            }
            return seq;
        }, cancellationToken);

    public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) =>
        Task.Run(async () => _store.Put(await work(_store.Get(input), cancellationToken).ConfigureAwait(false)), cancellationToken);

    public async Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken)
    {
        var processor = spec.Create();
        try
        {
            await Task.Run(async () => await processor.InitializeAsync(spec.Context, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await processor.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new LocalActor(spec, processor, _store);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class LocalActor(ActorSpec spec, IBatchProcessor processor, LocalBlockStore store) : IActorHandle
    {
        public ActorSpec Spec => spec;

        public Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken) =>
            Task.Run(async () =>
            {
                var output = await BatchRunner.ApplyAsync(spec.Operator, processor.ProcessAsync, store.Get(input), spec.BatchSize, spec.OnError, cancellationToken).ConfigureAwait(false);
                return store.Put(output);
            }, cancellationToken);

        public Task<IReadOnlyList<BlockRef>> RunManyAsync(IReadOnlyList<BlockRef> inputs, CancellationToken cancellationToken) =>
            Task.Run(async () =>
            {
                var outputs = await BatchRunner.ApplyManyAsync(spec.Operator, processor.ProcessAsync, [.. inputs.Select(store.Get)], spec.BatchSize, spec.OnError, cancellationToken).ConfigureAwait(false);
                return (IReadOnlyList<BlockRef>)[.. outputs.Select(store.Put)];
            }, cancellationToken);

        public ValueTask DisposeAsync() => processor.DisposeAsync();
    }
}
