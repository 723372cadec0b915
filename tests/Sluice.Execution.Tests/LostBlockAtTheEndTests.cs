using Microsoft.Extensions.Time.Testing;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Tests;

/// <summary>
/// A block lost with its node after the input ended is read again by its read task: until it is through, the input has
/// not ended for any stage below the reader. The pool keeps its actor for it (no release then a new model load) and the
/// sink does not flush before it arrives (a sink that groups blocks would hold it past the job's last flush, and its read
/// task would never be marked complete).
/// </summary>
public sealed class LostBlockAtTheEndTests
{
    /// <summary>
    /// One block, one read task, one actor, the loop stepped by hand. The actor's start is held until the read has ended,
    /// so the block is lost on its first fetch when the reader has ended and nothing else runs or waits: the moment every
    /// stage below the reader looked done.
    /// </summary>
    [Fact]
    public async Task StepAsync_LastBlockLostAfterTheInputEnded_ReadAgainThroughTheSameActor_CommittedByTheFlush()
    {
        var runtime = new FaultyRuntime(l => l.Seq == 0, _ => false);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ds = Dataset.Read(new GatedSource(before: 1, after: 0, rows: 10))
            .MapBatches(() => new HeldStart(started.Task), "held", new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 1), MaxConcurrency = 1 });
        var sink = new GroupingSink();
        var executor = new StreamingExecutor(ds.Plan, sink, new ExecutionOptions { Runtime = runtime, TimeProvider = new FakeTimeProvider() }, collectOutput: false);
        // A bound on a hang, not a wait: each turn returns as soon as the workers report.
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);

        var turns = 0;
        do
        {
            Assert.True(await executor.StepAsync(stop.Token), "the job ended before its actor started");
            turns++;
        }
        while (!(executor.Snapshot.Operators[0].Done && Model(executor).QueuedBlocks == 1));
        started.SetResult();
        while (await executor.StepAsync(stop.Token)) turns++;
        // What RunAsync does once the loop is done: the output is completed (a grouping sink commits what it still holds).
        await sink.CompleteAsync(stop.Token);
        await executor.ShutdownAsync(stop, failure: null);
        Assert.InRange(turns, 1, 200);

        Assert.Equal(1, runtime.BlocksLost);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), sink.Written.Ids.Order());
        Assert.Equal(0, sink.LeftForComplete); // the loop's own flush committed it, so the loop heard of it
        Assert.Single(sink.Written.CompletedTasks);
        var model = Model(executor);
        Assert.Equal(1, model.TaskRetries);
        Assert.Equal(1, model.ActorsStarted);
    }

    private static OperatorSnapshot Model(StreamingExecutor executor) => executor.Snapshot.Operators.Single(o => o.Name == "model");

    /// <summary>
    /// Holds appended blocks in one open group, as the file sinks hold a part: a block is committed by the next flush (or
    /// by the output's completion, which the loop does not hear of), never by its append.
    /// </summary>
    private sealed class GroupingSink : Datasink
    {
        private readonly List<Block> _open = [];

        public MemorySink Written { get; } = new();

        /// <summary>Blocks still held when the output was completed: committed behind the loop's back.</summary>
        public int LeftForComplete { get; private set; }

        public override string Name => "grouping";

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken) => throw new NotSupportedException("blocks are appended");

        public override ValueTask<IReadOnlyList<BlockLineage>> AppendAsync(Block block, CancellationToken cancellationToken)
        {
            lock (_open) _open.Add(block);
            return ValueTask.FromResult<IReadOnlyList<BlockLineage>>([]);
        }

        public override async ValueTask<IReadOnlyList<BlockLineage>> FlushAsync(CancellationToken cancellationToken)
        {
            List<Block> group;
            lock (_open)
            {
                group = [.. _open];
                _open.Clear();
            }
            foreach (var block in group) await Written.WriteAsync(block, cancellationToken);
            return [.. group.Select(b => b.Lineage)];
        }

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) =>
            Written.MarkTaskCompleteAsync(taskId, blocks, cancellationToken);

        public override async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            LeftForComplete = (await FlushAsync(cancellationToken)).Count;
            await Written.CompleteAsync(cancellationToken);
        }
    }
}
