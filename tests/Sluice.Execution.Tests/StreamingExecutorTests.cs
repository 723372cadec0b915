using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// Executor behaviour the conformance suite (tests/Shared/ExecutorConformance.cs, run on both runtimes)
/// does not cover: CountAsync, row functions, a transient task failure retried, a pool minimum the
/// node cannot hold, the batch size a processor sees, and the explained plan. Cases the suite runs are not repeated here.
/// </summary>
public class StreamingExecutorTests
{
    private static readonly ExecutionOptions Small = new() { Resources = new NodeResources(4, 0, 8L << 30) };

    [Fact]
    public async Task CountAsync_RangeThroughFunction_CountsEveryRow()
    {
        var ds = Dataset.Range(10_000, new ReadOptions { BlockRows = 300 }).MapBatches(b => b);
        Assert.Equal(10_000, await ds.CountAsync(Small));
    }

    [Fact]
    public async Task WriteAsync_TransientFailure_RetriesAndWritesEveryRowOnce()
    {
        var failed = 0;
        var ds = Dataset.Range(2_000, new ReadOptions { BlockRows = 100 }).MapBatches(b =>
        {
            if (((Int64Array)b.Column("id")).GetValue(0) == 1_000 && Interlocked.Exchange(ref failed, 1) == 0)
                throw new IOException("transient");
            return b;
        }, new MapBatchesOptions { Resources = new ResourceRequest(Cpus: 0.5) });
        var sink = new MemorySink();
        var stats = await ds.WriteAsync(sink, Small);
        Assert.Equal(2_000, sink.Rows);
        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(1, stats.Operators.Sum(o => o.TaskRetries));
    }

    /// <summary>Seen by the processor itself (the suite sees only the executor's stats): each actor initialized once, blocks cut into batches of the size asked.</summary>
    [Fact]
    public async Task WriteAsync_BatchSizeBelowTheBlock_EachActorInitializedOnceAndSeesBatchesOfThatSize()
    {
        var ledger = new ProcessorLedger();
        var sizes = new System.Collections.Concurrent.ConcurrentBag<int>();
        var ds = Dataset.Range(5_000, new ReadOptions { BlockRows = 100 }, tasks: 5)
            .MapBatches(() => new SizeRecorder(ledger, sizes), nameof(SizeRecorder), new MapBatchesOptions { Pool = new PoolSize(2, 2), BatchSize = 30 });
        var sink = new MemorySink();

        await ds.WriteAsync(sink, Small);

        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(2, ledger.Initialized);
        // 5 read tasks of 10 blocks of 100 rows, each block cut into 30 + 30 + 30 + 10.
        Assert.Equal(new Dictionary<int, int> { [30] = 150, [10] = 50 }, sizes.CountBy(n => n).ToDictionary());
    }

    [Fact]
    public async Task WriteAsync_PoolMinLargerThanNode_IsRefusedWithTheReason()
    {
        var ds = Dataset.Range(10).MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "embed", Pool = new PoolSize(3, 3) });
        var e = await Assert.ThrowsAsync<SluiceException>(() => ds.WriteAsync(new MemorySink(), Small with { Resources = new NodeResources(2, 0, 1L << 30) }));
        Assert.Contains("stage 'embed'", e.Message);
        Assert.Contains("pool.min 3", e.Message);
    }

    [Fact]
    public async Task Filter_And_Map_RowFunctions_ApplyToEveryRow()
    {
        var rows = await Dataset.Range(1_000)
            .Filter(r => (long)r["id"]! % 10 == 0)
            .Map(r => { r["double"] = (long)r["id"]! * 2; return r; })
            .TakeAsync(1_000, Small);
        Assert.Equal(100, rows.Count);
        Assert.All(rows, r => Assert.Equal((long)r["id"]! * 2, r["double"]));
    }

    [Fact]
    public void Explain_ShowsFusedReadAndActorPoolWithResources()
    {
        var ds = Dataset.Range(10).MapBatches(b => b, new() { Name = "prep" })
            .MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "embed", Pool = new PoolSize(1, 2), BatchSize = 64 });
        var text = JobExecution.Explain(ds, new MemorySink(), Small);
        Assert.Contains("Read[range(10)]->prep", text);
        Assert.Contains("embed (TripleProcessor)  actor pool 1..2, batch 64", text);
        Assert.Contains("cpus=1", text);
    }

    private sealed class SizeRecorder(ProcessorLedger ledger, System.Collections.Concurrent.ConcurrentBag<int> sizes) : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
        {
            ledger.OnInitialized();
            return ValueTask.CompletedTask;
        }

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            sizes.Add(batch.Length);
            return ValueTask.FromResult(batch);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
