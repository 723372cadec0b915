using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;

namespace Sluice.Tests.Shared;

/// <summary>
/// Any worker runtime, with its actors counted: every handle it returned and every disposal of one. Actors that
/// <paramref name="slowStart"/> picks load like a model that does not stop on cancellation: their start completes
/// only once the job's token is cancelled (the job has ended), and then succeeds anyway — so the executor must
/// dispose an actor that came back after it stopped listening. A gate, never a sleep.
/// </summary>
/// <param name="failTasks">Every task fails as bad input (a job failure that is not retried).</param>
internal sealed class LifecycleRuntime(IWorkerRuntime inner, Func<ActorSpec, bool> slowStart, bool failTasks = false) : IWorkerRuntime
{
    private readonly TaskCompletionSource _firstTaskDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _disposed;
    private int _slowStarted;

    /// <summary>Handles returned to the executor.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Of those, how many the executor disposed.</summary>
    public int Disposed => Volatile.Read(ref _disposed);

    /// <summary>Slow starts that completed after the job ended.</summary>
    public int SlowStarted => Volatile.Read(ref _slowStarted);

    /// <summary>Completes when an actor has finished its first task.</summary>
    public Task FirstTaskDone => _firstTaskDone.Task;

    private bool FailTasks => failTasks;

    public string NodeId => inner.NodeId;

    public NodeResources Resources => inner.Resources;

    public IReadOnlyList<NodeInfo> Nodes => inner.Nodes;

    public long StoredBytes => inner.StoredBytes;

    public bool RunsLambdaProcessors => inner.RunsLambdaProcessors;

    public BlockRef Put(Block block) => inner.Put(block);

    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => inner.GetAsync(block, cancellationToken);

    public void Free(BlockRef block) => inner.Free(block);

    public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
        inner.RunReadAsync(task, taskIndex, blockRows, transform, callbacks, cancellationToken);

    public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) =>
        inner.RunTaskAsync(work, input, cancellationToken);

    public async Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken)
    {
        var slow = slowStart(spec);
        if (slow)
        {
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => ended.TrySetResult()))
                await ended.Task.ConfigureAwait(false);
        }
        var handle = await inner.StartActorAsync(spec, slow ? CancellationToken.None : cancellationToken).ConfigureAwait(false);
        if (slow) Interlocked.Increment(ref _slowStarted);
        Interlocked.Increment(ref _started);
        return new Counted(this, handle);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Counted(LifecycleRuntime runtime, IActorHandle inner) : IActorHandle
    {
        private int _disposed;

        public ActorSpec Spec => inner.Spec;

        public async Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken)
        {
            if (runtime.FailTasks) throw new BadInputException($"injected: stage '{Spec.Operator}' rejects every batch");
            var output = await inner.RunAsync(input, cancellationToken).ConfigureAwait(false);
            runtime._firstTaskDone.TrySetResult();
            return output;
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1) throw new InvalidOperationException($"actor {Spec.Index} of '{Spec.Operator}' disposed twice");
            Interlocked.Increment(ref runtime._disposed);
            await inner.DisposeAsync().ConfigureAwait(false);
        }
    }
}
