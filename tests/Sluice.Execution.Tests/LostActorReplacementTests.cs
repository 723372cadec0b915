using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Pools;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Tests;

/// <summary>
/// A pool that loses an actor goes back to pool.min while input may still come, whether or not a backlog builds: the lost
/// actor's task is usually taken at once by a survivor, and a reader no faster than the survivors never builds one.
/// </summary>
public sealed class LostActorReplacementTests
{
    [Fact]
    public void DecideUp_BelowMinWithNoBacklog_WantsBackToMin()
    {
        var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(2, 3), MaxConcurrency = 1 }, ResourceRequest.OneCpu, DispatchPolicy.MostRecentlyUsed);

        var up = pool.DecideUp(queuedBlocks: 0, upstreamActive: true, target: 3);

        Assert.Equal(2, up.Delta);
        Assert.Equal("up 2: 0 live, below min 2", up.ToString());
    }

    [Fact]
    public void DecideUp_BelowMinWithABacklogWantingMore_TakesTheBacklogs()
    {
        var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(1, 4), MaxConcurrency = 1 }, ResourceRequest.OneCpu, DispatchPolicy.MostRecentlyUsed);

        var up = pool.DecideUp(queuedBlocks: 3, upstreamActive: true, target: 4);

        Assert.Equal(3, up.Delta);
    }

    /// <summary>
    /// The loop stepped by hand, the reader held at a gate after one block: nothing but the loss can start an actor. The
    /// actor given that block dies on it; the other actor runs it. Before the fix the pool stayed at one actor (min 2)
    /// until a backlog built, here never before the gate opens.
    /// </summary>
    [Fact]
    public async Task StepAsync_ActorLostWithNoBacklog_ReplacedUpToMinBeforeMoreInput()
    {
        var runtime = new FaultyRuntime(_ => false, _ => false, killFirstRunner: true);
        var source = new GatedSource(before: 1, after: 3, rows: 10);
        var ds = Dataset.Read(source).MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "model", Pool = new PoolSize(2, 3), MaxConcurrency = 1 });
        var sink = new MemorySink();
        var executor = new StreamingExecutor(ds.Plan, sink, new ExecutionOptions { Runtime = runtime, TimeProvider = new FakeTimeProvider() }, collectOutput: false);
        // A bound on a hang, not a wait: each turn returns as soon as the workers report.
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);

        var turns = 0;
        do
        {
            Assert.True(await executor.StepAsync(stop.Token), "the job ended before the reader's gate");
            turns++;
        }
        while (sink.Rows < 10);
        Assert.InRange(turns, 1, 200);

        // The block ran again on the survivor, and the pool started a third actor when it heard of the loss: back to min.
        Assert.Equal(1, runtime.ActorsKilled);
        var model = Model(executor);
        Assert.Equal(3, model.ActorsStarted);
        Assert.Equal(2, model.ActorsReady + model.ActorsStarting);
        Assert.Equal(1, model.TaskRetries);

        source.Gate.SetResult();
        while (await executor.StepAsync(stop.Token))
        {
        }
        await executor.ShutdownAsync(stop, failure: null);

        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), sink.Ids.Order()); // MemorySink refuses a key written twice
        Assert.Equal(1, runtime.ActorsKilled);
        Assert.Single(sink.CompletedTasks);
    }

    /// <summary>
    /// The only actor dies on the input's last block, after the reader ended (its start is held until then): the block
    /// waits for a new actor, which runs it. No hang, every row once.
    /// </summary>
    [Fact]
    public async Task StepAsync_OnlyActorLostOnTheLastBlockAfterTheInputEnded_ANewActorRunsIt()
    {
        var runtime = new FaultyRuntime(_ => false, _ => false, killFirstRunner: true);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ds = Dataset.Read(new GatedSource(before: 1, after: 0, rows: 10))
            .MapBatches(() => new HeldStart(started.Task), "held", new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 1), MaxConcurrency = 1 });
        var sink = new MemorySink();
        var executor = new StreamingExecutor(ds.Plan, sink, new ExecutionOptions { Runtime = runtime, TimeProvider = new FakeTimeProvider() }, collectOutput: false);
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
        await executor.ShutdownAsync(stop, failure: null);
        Assert.InRange(turns, 1, 200);

        Assert.Equal(1, runtime.ActorsKilled);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), sink.Ids.Order());
        Assert.Single(sink.CompletedTasks);
        var model = Model(executor);
        Assert.Equal(2, model.ActorsStarted);
        Assert.Equal(1, model.TaskRetries);
    }

    private static OperatorSnapshot Model(StreamingExecutor executor) => executor.Snapshot.Operators.Single(o => o.Name == "model");
}
