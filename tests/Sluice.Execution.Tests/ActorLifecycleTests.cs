using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// The local runtime's side of the actor lifecycle: every processor built is disposed on every exit path of a job,
/// one that was still loading its model when the job ended included, and a processor whose disposal fails neither
/// keeps the others from being disposed nor hides the job's own error. Loads are gated, never timed.
/// </summary>
public sealed class ActorLifecycleTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task WriteAsync_Succeeds_ProcessorStillLoadingAtTheEndIsDisposed()
    {
        var tally = new Tally();

        await Job(tally).WriteAsync(new MemorySink(), Options()).WaitAsync(Limit);

        Assert.Equal(3, tally.Created); // the preflight probe and two actors
        Assert.Equal(1, tally.LoadedAfterTheEnd);
        Assert.Equal(tally.Created, tally.Disposed);
    }

    [Fact]
    public async Task WriteAsync_BatchFails_EveryProcessorDisposedAndTheBatchErrorIsThrown()
    {
        var tally = new Tally { FailBatches = true };

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => Job(tally).WriteAsync(new MemorySink(), Options()).WaitAsync(Limit));

        Assert.Contains("rejected by the test", e.Message);
        Assert.Equal(3, tally.Created); // the preflight probe and two actors
        Assert.Equal(tally.Created, tally.Disposed);
    }

    [Fact]
    public async Task WriteAsync_Cancelled_EveryProcessorDisposed()
    {
        var tally = new Tally();
        using var cancel = new CancellationTokenSource();
        var sink = new MemorySink();

        var job = Job(tally, rows: 1_000_000).WriteAsync(sink, Options(), cancel.Token);
        await tally.FirstBatch.Task.WaitAsync(Limit);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.WaitAsync(Limit));
        Assert.False(sink.Completed);
        Assert.Equal(3, tally.Created); // the preflight probe and two actors
        Assert.Equal(tally.Created, tally.Disposed);
    }

    [Fact]
    public async Task WriteAsync_BatchFailsAndOneDisposalFails_OthersStillDisposedAndTheBatchErrorWins()
    {
        var tally = new Tally { FailBatches = true, FailDisposalOf = 0 };

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => Job(tally).WriteAsync(new MemorySink(), Options()).WaitAsync(Limit));

        Assert.Contains("rejected by the test", e.Message);
        Assert.Equal(tally.Created, tally.Disposed);
    }

    [Fact]
    public async Task WriteAsync_SucceedsButOneDisposalFails_EveryProcessorDisposedAndTheFailureReported()
    {
        var tally = new Tally { FailDisposalOf = 1 };

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => Job(tally).WriteAsync(new MemorySink(), Options()).WaitAsync(Limit));

        Assert.Contains("failed to release", e.Message);
        Assert.Contains("disposal refused by the test", e.Message);
        Assert.Equal(tally.Created, tally.Disposed);
    }

    [Fact]
    public async Task WriteAsync_BatchFailsAndTheSinkFailsToAbort_EveryProcessorDisposedAndTheBatchErrorWins()
    {
        var tally = new Tally { FailBatches = true };

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => Job(tally).WriteAsync(new AbortFails(), Options()).WaitAsync(Limit));

        Assert.Contains("rejected by the test", e.Message);
        Assert.Equal(tally.Created, tally.Disposed);
    }

    [Fact]
    public async Task WriteAsync_LocalRuntimeWrapped_EveryHandleDisposed()
    {
        var tally = new Tally();
        var runtime = new Sluice.Tests.Shared.LifecycleRuntime(new LocalWorkerRuntime(Node), _ => false);

        await Job(tally).WriteAsync(new MemorySink(), new ExecutionOptions { Runtime = runtime }).WaitAsync(Limit);

        Assert.Equal(2, runtime.Started);
        Assert.Equal(runtime.Started, runtime.Disposed);
        Assert.Equal(tally.Created, tally.Disposed);
    }

    private static readonly NodeResources Node = new(4, 0, 1L << 30);

    private sealed class AbortFails : Datasink
    {
        public override string Name => "abort-fails";

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask WriteAsync(Sluice.Blocks.Block block, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask AbortAsync() => throw new IOException("abort refused by the test");
    }

    private static ExecutionOptions Options() => new() { Resources = Node };

    /// <summary>Two actors: actor 0 loads at once and does the work, actor 1 loads until the job is over.</summary>
    private static Dataset Job(Tally tally, int rows = 2_000) =>
        Dataset.Range(rows, new ReadOptions { BlockRows = 100 })
            .MapBatches(() => new GatedProcessor(tally), "gated",
                new MapBatchesOptions { Name = "gated", Pool = new PoolSize(1, 2, Initial: 2), Resources = new ResourceRequest(Cpus: 1) });

    private sealed class Tally
    {
        private int _created;
        private int _disposed;
        private int _loadedAfterTheEnd;

        public bool FailBatches { get; init; }

        public int? FailDisposalOf { get; init; }

        public TaskCompletionSource FirstBatch { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Created => Volatile.Read(ref _created);

        public int Disposed => Volatile.Read(ref _disposed);

        public int LoadedAfterTheEnd => Volatile.Read(ref _loadedAfterTheEnd);

        public void OnCreated() => Interlocked.Increment(ref _created);

        public void OnDisposed() => Interlocked.Increment(ref _disposed);

        public void OnLoadedAfterTheEnd() => Interlocked.Increment(ref _loadedAfterTheEnd);
    }

    /// <summary>
    /// Actor 0 loads at once; any other actor loads like a model that does not watch its token: the load ends only
    /// once the job has ended (its token cancelled), and then succeeds, handing the executor an actor it must dispose.
    /// </summary>
    private sealed class GatedProcessor : IBatchProcessor
    {
        private readonly Tally _tally;
        private int _index = -1;

        public GatedProcessor(Tally tally)
        {
            _tally = tally;
            tally.OnCreated();
        }

        public async ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
        {
            _index = context.ActorIndex;
            if (_index == 0) return;
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => ended.TrySetResult()))
                await ended.Task;
            _tally.OnLoadedAfterTheEnd();
        }

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            if (_tally.FailBatches) throw new BadInputException("batch rejected by the test");
            _tally.FirstBatch.TrySetResult();
            return ValueTask.FromResult(batch);
        }

        public ValueTask DisposeAsync()
        {
            _tally.OnDisposed();
            if (_tally.FailDisposalOf == _index) throw new InvalidOperationException($"disposal refused by the test (actor {_index})");
            return ValueTask.CompletedTask;
        }
    }
}
