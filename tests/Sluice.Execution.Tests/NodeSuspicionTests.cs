using Apache.Arrow;
using Microsoft.Extensions.Time.Testing;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// A node that stops answering (issue 12 item 1: a SIGSTOP'd worker), on a fake clock: two nodes "a" and "b" of one
/// cpu each, one actor on each; once "a" hangs, the task there runs past the straggler threshold with nothing finishing
/// on "a": the node is suspected (the snapshot says why), its actor is retired, the task's backup runs on "b" and wins,
/// the hung copy is cancelled, and every row is written once.
/// </summary>
public sealed class NodeSuspicionTests
{
    private const int Blocks = 20;

    [Fact]
    public async Task StepAsync_NodeStopsAnswering_SuspectedItsActorRetiredTaskBackedUpElsewhere_EveryRowOnce()
    {
        var clock = new FakeTimeProvider();
        var runtime = new StoppableRuntime();
        runtime.Join(new NodeInfo("a", new NodeResources(1, 0, 1L << 30)));
        runtime.Join(new NodeInfo("b", new NodeResources(1, 0, 1L << 30)));
        var sink = new MemorySink();
        var ds = Dataset.Range(Blocks * 10, new ReadOptions { BlockRows = 10 }, tasks: 1)
            .MapBatches(() => new PassThrough(), "pass", new MapBatchesOptions { Name = "model", Pool = new PoolSize(2, 2), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });
        var executor = new StreamingExecutor(ds.Plan, sink, new ExecutionOptions
        {
            Runtime = runtime,
            TimeProvider = clock,
            Speculation = new SpeculationOptions { Floor = TimeSpan.FromSeconds(2), MinSamples = 3 },
        }, collectOutput: false);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);

        // Both nodes work until a few tasks are done; then "a" stops answering, and "b" runs the rest.
        while (Model(executor) is not { TasksDone: >= 4 }) Assert.True(await executor.StepAsync(stop.Token));
        runtime.Stop("a");
        while (Model(executor) is not { TasksRunning: 1, QueuedBlocks: 0 } || runtime.Hung == 0) Assert.True(await executor.StepAsync(stop.Token));
        Assert.Empty(executor.Snapshot.Suspected);

        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.True(await executor.StepAsync(stop.Token));
        Assert.Equal(["node a suspected: no task finished for 3 s"], executor.Snapshot.Suspected);
        Assert.Equal(1, Model(executor)!.BackupsLaunched);
        Assert.Equal(1, Model(executor)!.ActorsReady); // a's actor retired: no new work goes there

        while (await executor.StepAsync(stop.Token))
        {
        }
        await executor.ShutdownAsync(stop, null);

        Assert.Equal(1, Model(executor)!.BackupsWon);
        Assert.Equal(1, runtime.Cancelled);
        Assert.Equal(Enumerable.Range(0, Blocks * 10).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(0, executor.Snapshot.UsedBytes);
    }

    private static Stats.OperatorSnapshot? Model(StreamingExecutor executor) => executor.Snapshot.Operators.SingleOrDefault(o => o.Name == "model");

    private sealed class PassThrough : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A <see cref="GrowingRuntime"/> whose nodes the test can stop: a task on a stopped node's actor never ends unless cancelled.</summary>
    private sealed class StoppableRuntime : IWorkerRuntime
    {
        private readonly GrowingRuntime _inner = new();
        private readonly HashSet<string> _stopped = [];
        private int _hung;
        private int _cancelled;

        public int Hung => Volatile.Read(ref _hung);

        public int Cancelled => Volatile.Read(ref _cancelled);

        public void Join(NodeInfo node) => _inner.Join(node);

        public void Stop(string node)
        {
            lock (_stopped) _stopped.Add(node);
        }

        private bool IsStopped(string? node)
        {
            lock (_stopped) return node is not null && _stopped.Contains(node);
        }

        public string NodeId => _inner.NodeId;

        public NodeResources Resources => _inner.Resources;

        public IReadOnlyList<NodeInfo> Nodes => _inner.Nodes;

        public long StoredBytes => _inner.StoredBytes;

        public BlockRef Put(Block block) => _inner.Put(block);

        public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => _inner.GetAsync(block, cancellationToken);

        public void Free(BlockRef block) => _inner.Free(block);

        public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
            _inner.RunReadAsync(task, taskIndex, blockRows, transform, callbacks, cancellationToken);

        public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) => _inner.RunTaskAsync(work, input, cancellationToken);

        public async Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken) =>
            new Handle(await _inner.StartActorAsync(spec, cancellationToken), this);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();

        private sealed class Handle(IActorHandle inner, StoppableRuntime runtime) : IActorHandle
        {
            public ActorSpec Spec => inner.Spec;

            public async Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken)
            {
                if (!runtime.IsStopped(Spec.Node))
                {
                    // A task takes a little real time: while one actor works, the other is handed the next block, so the
                    // stopped node does get a task to hang on (an instant task keeps the most recently used actor on every block).
                    await Task.Delay(5, cancellationToken);
                    return await inner.RunAsync(input, cancellationToken);
                }
                Interlocked.Increment(ref runtime._hung);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref runtime._cancelled);
                    throw;
                }
                throw new InvalidOperationException("unreachable");
            }

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
