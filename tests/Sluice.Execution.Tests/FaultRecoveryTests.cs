using Sluice.Contracts;

namespace Sluice.Execution.Tests;

public class FaultRecoveryTests
{
    [Fact]
    public async Task LostActorsAndLostBlocks_AreRecovered_EveryRowWrittenExactlyOnce()
    {
        // Blocks 3 and 7 of every read task are lost once (as if their node died); the actor given the first task dies on it
        // (by index, actor 1 was given no task at all in 2 of ~6,000 loaded runs: most-recently-used dispatch kept actor 0 busy alone).
        var runtime = new FaultyRuntime(l => l.Seq is 3 or 7, _ => false, killFirstRunner: true);
        var ds = Dataset.Range(8_000, new Plan.ReadOptions { BlockRows = 100 }, tasks: 4)
            .MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "model", Pool = new PoolSize(2, 3), MaxConcurrency = 1 });
        var sink = new MemorySink();
        var stats = await ds.WriteAsync(sink, new ExecutionOptions { Runtime = runtime });

        Assert.Equal(Enumerable.Range(0, 8_000).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(8, runtime.BlocksLost);
        Assert.Equal(1, runtime.ActorsKilled);
        Assert.Equal(4, sink.CompletedTasks.Count);
        Assert.True(sink.Completed);
        var model = stats.Operators.Single(o => o.Name == "model");
        Assert.True(model.TaskRetries >= 9, $"retries {model.TaskRetries}");
        Assert.True(model.ActorsStarted >= 3, $"the lost actor was not replaced: {model.ActorsStarted} started");
    }

    /// <summary>
    /// A block cut into four slices is lost with its node while its slices wait: each lost slice is recomputed from its
    /// read task, the recomputed block cut the same way, and only that slice goes on: every row once, no slice twice.
    /// </summary>
    [Fact]
    public async Task LostSlicesOfACutBlock_AreRecomputed_EveryRowWrittenExactlyOnce()
    {
        var runtime = new FaultyRuntime(l => l.Seq == 0 && l.Slice is { Index: 1 }, _ => false);
        var ds = Dataset.Range(400, new Plan.ReadOptions { BlockRows = 200 }, tasks: 1)
            .MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "model", BatchSize = 10, Pool = new PoolSize(4, 4), MaxConcurrency = 1 });
        var sink = new MemorySink();

        var stats = await ds.WriteAsync(sink, new ExecutionOptions { Runtime = runtime }).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), sink.Ids.Order()); // MemorySink refuses a key written twice
        Assert.Equal(1, runtime.BlocksLost);
        var model = stats.Operators.Single(o => o.Name == "model");
        Assert.True(model.BlocksSliced >= 1);
        Assert.True(model.TaskRetries >= 1, $"retries {model.TaskRetries}");
        Assert.Single(sink.CompletedTasks);
    }
}
