using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

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
    public async Task TakeAsync_ThroughActorPool_ReturnsFirstRowsInOrder()
    {
        CountingProcessor.CurrentKey = nameof(TakeAsync_ThroughActorPool_ReturnsFirstRowsInOrder);
        var ds = Dataset.Range(5_000, new ReadOptions { BlockRows = 100 })
            .MapBatches<CountingProcessor>(new MapBatchesOptions { Pool = new PoolSize(2, 2), BatchSize = 30 });
        var rows = await ds.TakeAsync(250, Small);
        Assert.Equal(250, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal((long)i, rows[i]["id"]);
            Assert.Equal(i * 3L + 1, rows[i]["triple"]);
        }
    }

    [Fact]
    public async Task IterateBatchesAsync_PreserveOrder_YieldsBlocksInInputOrderAcrossTasksAndActors()
    {
        CountingProcessor.CurrentKey = nameof(IterateBatchesAsync_PreserveOrder_YieldsBlocksInInputOrderAcrossTasksAndActors);
        var ds = Dataset.Range(20_000, new ReadOptions { BlockRows = 250 }, tasks: 7)
            .MapBatches<CountingProcessor>(new MapBatchesOptions { Pool = new PoolSize(3, 3), MaxConcurrency = 3 });
        long expected = 0;
        await foreach (var batch in ds.IterateBatchesAsync(Small with { PreserveOrder = true }))
        {
            var ids = (Int64Array)batch.Column("id");
            for (var i = 0; i < ids.Length; i++) Assert.Equal(expected++, ids.GetValue(i));
        }
        Assert.Equal(20_000, expected);
    }

    [Fact]
    public async Task WriteAsync_ManyBlocks_InitializesEachActorExactlyOnce()
    {
        var key = CountingProcessor.CurrentKey = nameof(WriteAsync_ManyBlocks_InitializesEachActorExactlyOnce);
        var ds = Dataset.Range(50_000, new ReadOptions { BlockRows = 100 })
            .MapBatches<CountingProcessor>(new MapBatchesOptions { Pool = new PoolSize(2, 2), BatchSize = 25 });
        var sink = new MemorySink();
        var stats = await ds.WriteAsync(sink, Small);
        Assert.Equal(50_000, sink.Rows);
        Assert.Equal(2, CountingProcessor.Inits[key]);
        Assert.Equal(2_000, CountingProcessor.Batches[key]); // 500 blocks x 4 batches of 25, all on the same 2 actors
        Assert.Equal(2, stats.Operators.Single(o => o.Kind == "actors").ActorsStarted);
    }

    [Fact]
    public async Task WriteAsync_DatasetFarLargerThanBudget_QueuedBytesNeverExceedBudget()
    {
        CountingProcessor.CurrentKey = nameof(WriteAsync_DatasetFarLargerThanBudget_QueuedBytesNeverExceedBudget);
        const long budget = 4L << 20; // 4 MiB
        // 400 blocks x 250 rows x 256 floats = ~100 MiB produced: 25x the budget.
        var ds = Dataset.Range(100_000, new ReadOptions { BlockRows = 250 })
            .MapBatches(b => Payload.Add(b, 256), new MapBatchesOptions { Name = "payload" })
            .MapBatches<CountingProcessor>(new MapBatchesOptions { Pool = new PoolSize(1, 2) });
        var sink = new MemorySink();
        var stats = await ds.WriteAsync(sink, Small with { MemoryBudgetBytes = budget });
        var produced = stats.Operators[0].BytesOut;
        Assert.Equal(100_000, sink.Rows);
        Assert.True(produced > 20 * budget, $"produced {produced} bytes, budget {budget}");
        Assert.True(stats.PeakUsedBytes <= budget, $"peak {stats.PeakUsedBytes} > budget {budget}");
        Assert.True(stats.PeakUsedBytes > 0);
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

    [Fact]
    public async Task WriteAsync_BadInputInStage_FailsAtOnceNamingStageAndRows()
    {
        var ds = Dataset.Range(1_000, new ReadOptions { BlockRows = 100 }, tasks: 1).MapBatches(b =>
        {
            if (((Int64Array)b.Column("id")).GetValue(0) == 300) throw new BadInputException("column 'x' is missing");
            return b;
        }, new MapBatchesOptions { Name = "check", Resources = new ResourceRequest(Cpus: 0.5) });
        var e = await Assert.ThrowsAsync<BadInputException>(() => ds.WriteAsync(new MemorySink(), Small));
        Assert.Contains("stage 'check'", e.Message);
        Assert.Contains("range[0..1000) rows 301–400", e.Message);
        Assert.Contains("column 'x' is missing", e.Message);
    }

    [Fact]
    public async Task WriteAsync_PoolMinLargerThanNode_IsRefusedWithTheReason()
    {
        var ds = Dataset.Range(10).MapBatches<CountingProcessor>(new MapBatchesOptions { Name = "embed", Pool = new PoolSize(3, 3) });
        var e = await Assert.ThrowsAsync<SluiceException>(() => ds.WriteAsync(new MemorySink(), Small with { Resources = new NodeResources(2, 0, 1L << 30) }));
        Assert.Contains("stage 'embed'", e.Message);
        Assert.Contains("pool.min 3", e.Message);
    }

    [Fact]
    public async Task WriteAsync_BacklogBeyondOneActor_ScalesUpByTheBacklog()
    {
        CountingProcessor.CurrentKey = nameof(WriteAsync_BacklogBeyondOneActor_ScalesUpByTheBacklog);
        var ds = Dataset.Range(40_000, new ReadOptions { BlockRows = 100 })
            .MapBatches<CountingProcessor>(new MapBatchesOptions { Pool = new PoolSize(1, 4), MaxConcurrency = 1 });
        var stats = await ds.WriteAsync(new MemorySink(), Small);
        var pool = stats.Operators.Single(o => o.Kind == "actors");
        Assert.True(pool.ActorsStarted > 1, $"started {pool.ActorsStarted}");
        Assert.True(pool.ActorsStarted <= 4);
        Assert.Equal(0, pool.ActorsReady); // all released once input was exhausted
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
            .MapBatches<CountingProcessor>(new MapBatchesOptions { Name = "embed", Pool = new PoolSize(1, 2), BatchSize = 64 });
        var text = JobExecution.Explain(ds, new MemorySink(), Small);
        Assert.Contains("Read[range(10)]->prep", text);
        Assert.Contains("embed (CountingProcessor)  actor pool 1..2, batch 64", text);
        Assert.Contains("cpus=1", text);
    }
}
