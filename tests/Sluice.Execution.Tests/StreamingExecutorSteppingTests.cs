using Apache.Arrow;
using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Tests;

/// <summary>The loop driven one turn at a time by the test, on a fake clock: no thread of its own, no sleeps, no polling.</summary>
public sealed class StreamingExecutorSteppingTests
{
    [Fact]
    public async Task StepAsync_IdleActorsOnAFakeClock_ReleasedOnTheFirstTurnPastTheTimeout()
    {
        var clock = new FakeTimeProvider();
        var source = new GatedSource(before: 6, after: 2, rows: 10);
        var ds = Dataset.Read(source).MapBatches(() => new Passthrough(), "pass",
            new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 3, Initial: 3), MaxConcurrency = 1 });
        var sink = new MemorySink();
        var executor = new StreamingExecutor(ds.Plan, sink, new ExecutionOptions
        {
            Resources = new NodeResources(4, 0, 1L << 30),
            TimeProvider = clock,
            ActorIdleTimeout = TimeSpan.FromSeconds(10),
        }, collectOutput: false);
        // A bound on a hang, not a wait: each turn returns as soon as the workers report.
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);

        // Turn by turn until the six blocks before the reader's gate are written and the three actors are idle.
        var turns = 0;
        do
        {
            Assert.True(await executor.StepAsync(stop.Token), "the job ended before the reader's gate");
            turns++;
            AssertSane(executor.Snapshot);
        }
        while (!(Model(executor).RowsOut == 60 && Model(executor).ActorsIdle == 3 && sink.Rows == 60));
        Assert.InRange(turns, 1, 200);

        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.True(await executor.StepAsync(stop.Token));
        Assert.Equal(3, Model(executor).ActorsReady);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(await executor.StepAsync(stop.Token));
        Assert.Equal(1, Model(executor).ActorsReady);
        Assert.Equal("down 2: idle past 10s", Model(executor).LastScaling);

        source.Gate.SetResult();
        while (await executor.StepAsync(stop.Token)) AssertSane(executor.Snapshot);
        await executor.ShutdownAsync(stop, failure: null);

        Assert.Equal(80, sink.Rows);
        Assert.Equal(Enumerable.Range(0, 80).Select(i => (long)i), sink.Ids.Order());
    }

    private static OperatorSnapshot Model(StreamingExecutor executor) => executor.Snapshot.Operators.Single(o => o.Name == "model");

    /// <summary>What a published snapshot must always show (the loop checks more of its own state in Debug builds).</summary>
    private static void AssertSane(ExecutionSnapshot s)
    {
        Assert.True(s.UsedBytes >= 0 && s.UsedBytes <= s.PeakUsedBytes, $"memory {s.UsedBytes}, peak {s.PeakUsedBytes}");
        foreach (var o in s.Operators)
        {
            Assert.True(o.QueuedBytes >= 0 && o.QueuedBlocks >= 0 && o.TasksRunning >= 0, $"{o.Name}: queued {o.QueuedBlocks}/{o.QueuedBytes}, running {o.TasksRunning}");
            if (o.Kind == "actors") Assert.True(o.TasksRunning <= o.ActorsReady + o.ActorsStarting, $"{o.Name}: {o.TasksRunning} tasks on {o.ActorsReady} actors");
        }
    }

    private sealed class Passthrough : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
