using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.Execution.Runtime;

/// <summary>The work of one task on one block: deterministic given its input, so it can be retried.</summary>
public delegate ValueTask<Block> BlockWork(Block input, CancellationToken cancellationToken);

/// <summary>What a read task's runner asks of the executor and tells it.</summary>
public interface IReadCallbacks
{
    /// <summary>
    /// Waits until the executor lets the task read one more block (back-pressure reaches the reader here). Each call
    /// uses one credit; the executor may grant several ahead, and then the call completes at once.
    /// </summary>
    ValueTask WaitForCreditAsync(CancellationToken cancellationToken);

    /// <summary>Called with each block the task produced, in order.</summary>
    void OnBlock(BlockRef block);
}

/// <summary>The spec of one actor: the processor factory and where it runs.</summary>
/// <param name="Descriptor">How another node builds the processor; null for processors made by a lambda (local only).</param>
/// <param name="Node">The node whose resources the actor was granted.</param>
public sealed record ActorSpec(string Operator, int Index, Func<IBatchProcessor> Create, ProcessorContext Context, int? BatchSize,
    ProcessorDescriptor? Descriptor = null, string? Node = null)
{
    /// <summary>What the actor does with rows its processor throws on (<see cref="MapBatchesOptions.OnError"/>).</summary>
    public OnError OnError { get; init; }
}

/// <summary>
/// Where tasks and actors live and where blocks are stored. The executor sees only refs; a runtime
/// on several nodes moves bytes when a consumer on another node needs them.
/// </summary>
public interface IWorkerRuntime : IAsyncDisposable
{
    string NodeId { get; }

    /// <summary>This process's node (the driver's in a cluster).</summary>
    NodeResources Resources { get; }

    /// <summary>Every node whose resources actors may use (this one alone in local mode).</summary>
    IReadOnlyList<NodeInfo> Nodes { get; }

    /// <summary>Bytes the block store holds now.</summary>
    long StoredBytes { get; }

    BlockRef Put(Block block);

    /// <summary>
    /// The block's bytes. Called by the consumer of the block (a task, an actor, the sink's writer, the reader of a
    /// job's output), never by the executor's loop: on a cluster it may fetch the bytes from another node.
    /// </summary>
    ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken);

    void Free(BlockRef block);

    /// <summary>Reads one read task, block by block, asking for a credit before each, applying <paramref name="transform"/> to each block.</summary>
    /// <returns>The number of blocks produced.</returns>
    Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken);

    /// <summary>Runs a stateless task on one block.</summary>
    Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken);

    /// <summary>
    /// Whether this runtime can run a processor made by a lambda (one without a descriptor). Only a
    /// runtime whose actors live in this process can; a plan that needs one elsewhere is refused
    /// before it starts.
    /// </summary>
    bool RunsLambdaProcessors => true;

    /// <summary>Creates an actor and initializes its processor (loads the model) once.</summary>
    Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken);
}

/// <summary>A live actor: runs tasks on its processor; disposing it releases the processor.</summary>
public interface IActorHandle : IAsyncDisposable
{
    ActorSpec Spec { get; }

    Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken);

    /// <summary>
    /// Runs one task on several small blocks coalesced into full batches (<see cref="BatchRunner"/>.ApplyManyAsync):
    /// one output per input, in order, each with its input's lineage. The default runs them one by one.
    /// </summary>
    async Task<IReadOnlyList<BlockRef>> RunManyAsync(IReadOnlyList<BlockRef> inputs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var outputs = new BlockRef[inputs.Count];
        for (var i = 0; i < inputs.Count; i++) outputs[i] = await RunAsync(inputs[i], cancellationToken).ConfigureAwait(false);
        return outputs;
    }
}
