using Apache.Arrow;
using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// Issue 12 item 4, on a fake clock: a job whose task never ends shows a stall notice naming the stage and what it waits
/// on, then stops at <see cref="ExecutionOptions.NoProgressTimeout"/> with that diagnosis; <see cref="ExecutionOptions.Timeout"/>
/// stops a job that makes progress too, once it has run that long.
/// </summary>
public sealed class StallTests
{
    private static (StreamingExecutor Executor, FakeTimeProvider Clock) Job(ExecutionOptions options)
    {
        var clock = new FakeTimeProvider();
        var ds = Dataset.Range(10, new ReadOptions { BlockRows = 10 }, tasks: 1)
            .MapBatches(() => new Hung(), "hung", new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 1), MaxConcurrency = 1 });
        var executor = new StreamingExecutor(ds.Plan, new MemorySink(), options with { Resources = new NodeResources(4, 0, 1L << 30), TimeProvider = clock }, collectOutput: false);
        return (executor, clock);
    }

    [Fact]
    public async Task StepAsync_TaskNeverEnds_NoticeThenNoProgressTimeout_NamingTheStageAndWhatItWaitsOn()
    {
        var (executor, clock) = Job(new ExecutionOptions { StallNotice = TimeSpan.FromSeconds(30), NoProgressTimeout = TimeSpan.FromSeconds(60) });
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);
        while ((Model(executor)?.TasksRunning ?? 0) == 0) Assert.True(await executor.StepAsync(stop.Token));
        Assert.Null(executor.Snapshot.Stall);

        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.True(await executor.StepAsync(stop.Token));
        Assert.StartsWith("no progress for 31 s", executor.Snapshot.Stall, StringComparison.Ordinal);
        Assert.Contains("stage 'model': 1 task(s) running, none finished", executor.Snapshot.Stall, StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromSeconds(30));
        var e = await Assert.ThrowsAsync<SluiceException>(async () => await executor.StepAsync(stop.Token));
        await executor.ShutdownAsync(stop, e);

        Assert.Contains("no progress for 61 s (execution.no_progress_timeout 60 s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("stage 'model': 1 task(s) running", e.Message, StringComparison.Ordinal);
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StepAsync_PastTheTimeout_StopsSayingWhatItWasDoing()
    {
        var (executor, clock) = Job(new ExecutionOptions { Timeout = TimeSpan.FromSeconds(10) });
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);
        while ((Model(executor)?.TasksRunning ?? 0) == 0) Assert.True(await executor.StepAsync(stop.Token));

        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.True(await executor.StepAsync(stop.Token));
        clock.Advance(TimeSpan.FromSeconds(2));
        var e = await Assert.ThrowsAsync<SluiceException>(async () => await executor.StepAsync(stop.Token));
        await executor.ShutdownAsync(stop, e);

        Assert.Contains("ran past execution.timeout (10 s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("stage 'model'", e.Message, StringComparison.Ordinal);
    }

    private static Stats.OperatorSnapshot? Model(StreamingExecutor executor) => executor.Snapshot.Operators.SingleOrDefault(o => o.Name == "model");

    /// <summary>A batch that never ends unless cancelled: a stuck device or a node that does not answer.</summary>
    private sealed class Hung : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return batch;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
