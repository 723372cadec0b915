using System.Collections.Concurrent;
using Apache.Arrow;
using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// Speculative execution (issue 12 item 1), on a fake clock where it can be: a task that runs past its pool's
/// straggler threshold gets a backup copy on another actor; the first copy to finish wins and the other is cancelled;
/// every row reaches the sink exactly once (<see cref="MemorySink"/> refuses a block written twice); no backup before
/// the floor or the pool's minimum of finished tasks, nor when speculation is off.
/// </summary>
public sealed class SpeculationTests
{
    private const int Blocks = 10;
    private const long StuckFirstId = 30; // the fourth block's task straggles

    private static (StreamingExecutor Executor, FakeTimeProvider Clock, MemorySink Sink) Job(Straggler straggler, SpeculationOptions speculation)
    {
        var clock = new FakeTimeProvider();
        var sink = new MemorySink();
        var ds = Dataset.Range(Blocks * 10, new ReadOptions { BlockRows = 10 }, tasks: 1)
            .MapBatches(() => straggler, "straggler", new MapBatchesOptions { Name = "model", Pool = new PoolSize(2, 2), MaxConcurrency = 1 });
        var options = new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30), TimeProvider = clock, Speculation = speculation };
        return (new StreamingExecutor(ds.Plan, sink, options, collectOutput: false), clock, sink);
    }

    private static readonly SpeculationOptions Fast = new() { Floor = TimeSpan.FromSeconds(2), Multiplier = 3, MinSamples = 3 };

    /// <summary>Steps until the straggler is the model stage's only task left and every other block is done.</summary>
    private static async Task StepUntilOnlyTheStragglerRuns(StreamingExecutor executor, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (Model(executor) is not { TasksRunning: 1, TasksDone: Blocks - 1 }) Assert.True(await executor.StepAsync(limit.Token));
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the straggler never was the only task left: {string.Join("; ", executor.Snapshot.Operators)}");
        }
    }

    /// <summary>Steps until the job is done; fails saying where it stands if it is not within 10 s.</summary>
    private static async Task StepToTheEnd(StreamingExecutor executor, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (await executor.StepAsync(limit.Token))
            {
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the job did not end: {string.Join("; ", executor.Snapshot.Operators)}");
        }
    }

    [Fact]
    public async Task StepAsync_TaskPastTheThreshold_BackupWinsOriginalIsCancelled_EveryRowOnce()
    {
        var straggler = new Straggler(hangCalls: 1);
        var (executor, clock, sink) = Job(straggler, Fast);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);
        await StepUntilOnlyTheStragglerRuns(executor, stop.Token);

        // Every other task took no time on this clock: the threshold is the floor, 2 s.
        clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.True(await executor.StepAsync(stop.Token));
        Assert.Equal(0, Model(executor)!.BackupsLaunched);

        clock.Advance(TimeSpan.FromSeconds(1));
        await StepToTheEnd(executor, stop.Token);
        await executor.ShutdownAsync(stop, null);

        var model = Model(executor)!;
        Assert.Equal(1, model.BackupsLaunched);
        Assert.Equal(1, model.BackupsWon);
        Assert.Equal(Blocks, model.TasksDone);
        Assert.Equal(2, straggler.Calls(StuckFirstId));
        Assert.Equal(1, straggler.Cancelled);
        Assert.Equal(Enumerable.Range(0, Blocks * 10).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(0, executor.Snapshot.UsedBytes);
    }

    [Fact]
    public async Task StepAsync_BothCopiesFinish_OnlyOneIsProduced()
    {
        // Both copies hang until released together: one wins, the other's output is freed, never written.
        var straggler = new Straggler(hangCalls: 2);
        var (executor, clock, sink) = Job(straggler, Fast);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);
        await StepUntilOnlyTheStragglerRuns(executor, stop.Token);

        clock.Advance(TimeSpan.FromSeconds(3));
        while (Model(executor)!.BackupsLaunched == 0) Assert.True(await executor.StepAsync(stop.Token));
        Assert.Equal(2, Model(executor)!.TasksRunning);
        straggler.Release();
        await StepToTheEnd(executor, stop.Token);
        await executor.ShutdownAsync(stop, null);

        Assert.Equal(Blocks, Model(executor)!.TasksDone);
        Assert.Equal(Enumerable.Range(0, Blocks * 10).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(Blocks, sink.Blocks);
        Assert.Equal(0, executor.Snapshot.UsedBytes);
    }

    [Theory]
    [InlineData(true, 20)] // fewer finished tasks than the pool needs to judge
    [InlineData(false, 3)] // speculation off
    public async Task StepAsync_TooFewSamplesOrDisabled_NoBackup(bool enabled, int minSamples)
    {
        var straggler = new Straggler(hangCalls: 1);
        var (executor, clock, _) = Job(straggler, Fast with { Enabled = enabled, MinSamples = minSamples });
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);
        await StepUntilOnlyTheStragglerRuns(executor, stop.Token);

        // A stepped turn checks for stragglers whatever the time; each advance wakes one.
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(await executor.StepAsync(stop.Token));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(await executor.StepAsync(stop.Token));

        Assert.Equal(0, Model(executor)!.BackupsLaunched);
        Assert.Equal(1, straggler.Calls(StuckFirstId));
        await stop.CancelAsync();
        await executor.ShutdownAsync(stop, null);
    }

    [Fact]
    public void Validate_MultiplierBelowOne_NamesTheField()
    {
        var errors = new ExecutionOptions { Speculation = new SpeculationOptions { Multiplier = 0.5 } }.Validate().ToList();
        Assert.Contains(errors, e => e.StartsWith("speculation.multiplier: 0.5 is not accepted", StringComparison.Ordinal));
    }

    /// <summary>
    /// An embedded job on simulated GPUs where one batch in ten holds its device 20 times longer: the slow batches get
    /// backup copies, some of which win, and the output is every row exactly once. Real time (about a second): the
    /// simulated devices sleep.
    /// </summary>
    [Fact]
    public async Task WriteAsync_SimulatedSlowBatches_BackupsLaunched_EveryRowOnce()
    {
        const int rows = 2000;
        // Slow batches are drawn at random, and a backup needs an idle actor, which this job has only once its queue is
        // empty: a run whose last batches all happen to be quick launches none. Up to three runs, each exactly once.
        Stats.OperatorSnapshot? model = null;
        for (var attempt = 0; attempt < 3 && model is not { BackupsLaunched: >= 1 }; attempt++)
        {
            var sink = new MemorySink();
            var ds = Dataset.Range(rows, new ReadOptions { BlockRows = 20 }, tasks: 2)
                .MapBatches(() => new SimulateProcessor(new SimulateOptions(PerRowMs: 1, SlowFraction: 0.1, SlowFactor: 20)), "simulate",
                    new MapBatchesOptions { Name = "model", Pool = new PoolSize(4, 4), MaxConcurrency = 1, Resources = new ResourceRequest(Gpus: 1) });
            var stats = await ds.WriteAsync(sink, new ExecutionOptions
            {
                Resources = new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(4),
                // Batches take ~20 ms; the floor is lowered so that 400 ms batches count as stragglers.
                Speculation = new SpeculationOptions { Floor = TimeSpan.FromMilliseconds(100) },
            });
            model = stats.Operators.Single(o => o.Name == "model");
            Assert.Equal(Enumerable.Range(0, rows).Select(i => (long)i), sink.Ids.Order());
        }
        Assert.True(model!.BackupsLaunched >= 1, $"no backup launched in three runs: {model}");
    }

    private static Stats.OperatorSnapshot? Model(StreamingExecutor executor) => executor.Snapshot.Operators.SingleOrDefault(o => o.Name == "model");

    /// <summary>
    /// Passes batches through at once, except the block starting at <see cref="StuckFirstId"/>: its first
    /// <c>hangCalls</c> calls wait until cancelled or <see cref="Release"/>d. One instance shared by every actor.
    /// </summary>
    private sealed class Straggler(int hangCalls) : IBatchProcessor
    {
        private readonly ConcurrentDictionary<long, int> _calls = new();
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _cancelled;

        public int Cancelled => Volatile.Read(ref _cancelled);

        public int Calls(long firstId) => _calls.GetValueOrDefault(firstId);

        public void Release() => _release.TrySetResult();

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            var first = ((Int64Array)batch.Column("id")).GetValue(0)!.Value;
            var call = _calls.AddOrUpdate(first, 1, (_, n) => n + 1);
            if (first != StuckFirstId || call > hangCalls) return batch;
            try
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _cancelled);
                throw;
            }
            return batch;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
