using System.Collections.Concurrent;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// A job cancelled while its actors run: the sink is aborted and never completed (no success marker),
/// and every processor made for it — the actors and the preflight probe — is disposed. Driven by gates:
/// the test cancels once every actor is inside a batch.
/// </summary>
public sealed class CancelJobTests
{
    /// <summary>A hang must fail the test, not the run; nothing here waits on time otherwise.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WriteAsync_CancelledWhileEveryActorRunsABatch_AbortsTheSinkAndDisposesEveryActor()
    {
        const int Actors = 3;
        var ledger = new ProcessorLedger();
        var running = new RunningActors(Actors);
        var sink = new MemorySink();
        var ds = Dataset.Range(10_000, new ReadOptions { BlockRows = 100 })
            .MapBatches(() => new HoldingProcessor(ledger, running), nameof(HoldingProcessor),
                new MapBatchesOptions { Name = "model", Pool = new PoolSize(Actors, Actors), MaxConcurrency = 1 });
        using var cancel = new CancellationTokenSource();

        var job = JobExecution.Start(ds, sink, new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30) }, cancel.Token);
        await running.AllInside.WaitAsync(Limit);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.Completion.WaitAsync(Limit));
        Assert.True(sink.Aborted, "the sink was not aborted");
        Assert.False(sink.Completed, "the sink was completed (its success marker written) by a cancelled job");
        Assert.Equal(0, sink.Blocks); // every actor held its first batch until the cancel
        Assert.Empty(sink.CompletedTasks);
        Assert.Equal(Actors, ledger.Initialized);
        Assert.True(ledger.Created >= Actors, $"{ledger.Created} processors made for {Actors} actors"); // and any the executor made to check the stage first
        Assert.Equal(ledger.Created, ledger.Disposed);
    }

    [Fact]
    public async Task IterateBatchesAsync_ConsumerStopsAfterTheFirstBatch_StopsTheJobAndDisposesEveryActor()
    {
        const int Actors = 2;
        var ledger = new ProcessorLedger();
        var running = new RunningActors(Actors);
        var ds = Dataset.Range(10_000, new ReadOptions { BlockRows = 100 })
            .MapBatches(() => new HoldingProcessor(ledger, running, releaseWhenAllInside: true), nameof(HoldingProcessor),
                new MapBatchesOptions { Name = "model", Pool = new PoolSize(Actors, Actors), MaxConcurrency = 1 });
        var batches = 0;

        // Every actor holds its first batch until all are inside one, so each has started when the consumer stops.
        await foreach (var _ in ds.IterateBatchesAsync(new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30) }))
        {
            if (++batches == 1) break;
        }

        Assert.Equal(1, batches);
        Assert.True(running.AllInside.IsCompleted);
        Assert.Equal(Actors, ledger.Initialized);
        Assert.Equal(ledger.Created, ledger.Disposed); // leaving the loop awaited the job's end: its actors are already disposed
    }

    /// <summary>Signals when <paramref name="actors"/> distinct actors are each inside a batch.</summary>
    private sealed class RunningActors(int actors)
    {
        private readonly ConcurrentDictionary<HoldingProcessor, bool> _inside = new();
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AllInside => _all.Task;

        /// <summary>A task that never completes: a batch awaiting it ends only by the job's cancellation.</summary>
        public Task Never { get; } = new TaskCompletionSource().Task;

        public void Entered(HoldingProcessor processor)
        {
            _inside.TryAdd(processor, true);
            if (_inside.Count >= actors) _all.TrySetResult();
        }
    }

    /// <summary>Holds its batches (see <see cref="ProcessAsync"/>); counts its lifecycle into the test's ledger.</summary>
    private sealed class HoldingProcessor : IBatchProcessor
    {
        private readonly ProcessorLedger _ledger;
        private readonly RunningActors _running;
        private readonly bool _releaseWhenAllInside;

        public HoldingProcessor(ProcessorLedger ledger, RunningActors running, bool releaseWhenAllInside = false)
        {
            _ledger = ledger;
            _running = running;
            _releaseWhenAllInside = releaseWhenAllInside;
            ledger.OnCreated();
        }

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
        {
            _ledger.OnInitialized();
            return ValueTask.CompletedTask;
        }

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            _running.Entered(this);
            // Held until the job is cancelled, or (when asked) until every actor is inside a batch.
            await (_releaseWhenAllInside ? _running.AllInside : _running.Never).WaitAsync(cancellationToken);
            return batch;
        }

        public ValueTask DisposeAsync()
        {
            _ledger.OnDisposed();
            return ValueTask.CompletedTask;
        }
    }

}
