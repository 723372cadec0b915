using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// <c>preserve_order</c> under a budget of a few blocks completes, in order. Blocks that arrive before their turn are
/// held for the consumer, charged to the last stage; the block whose turn it is must still get through every stage.
/// </summary>
public sealed class OrderedSmallBudgetTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    public async Task IterateBatchesAsync_PreserveOrderBudgetOfAFewBlocks_YieldsEveryRowInOrder(int budgetBlocks)
    {
        const int Rows = 20_000, BlockRows = 250, Floats = 64;
        var blockBytes = BlockRows * (Floats * 4L + 8);
        var ds = Dataset.Range(Rows, new ReadOptions { BlockRows = BlockRows }, tasks: 8)
            .MapBatches(b => Payload.Add(b, Floats))
            .MapBatches(() => new Slow(), "slow", new MapBatchesOptions { Name = "model", Pool = new PoolSize(3, 3), MaxConcurrency = 2, Resources = new ResourceRequest(Cpus: 1) });
        var options = new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30), PreserveOrder = true, MemoryBudgetBytes = budgetBlocks * blockBytes };
        using var timeout = new CancellationTokenSource(Limit);
        long expected = 0;

        await foreach (var batch in ds.IterateBatchesAsync(options, timeout.Token))
        {
            var ids = (Int64Array)batch.Column("id");
            for (var i = 0; i < ids.Length; i++) Assert.Equal(expected++, ids.GetValue(i));
        }

        Assert.Equal(Rows, expected);
    }

    [Fact]
    public async Task WriteAsync_PreserveOrderBudgetOfTwoBlocks_WritesEveryRow()
    {
        const int BlockRows = 250, Floats = 64;
        var ds = Dataset.Range(10_000, new ReadOptions { BlockRows = BlockRows }, tasks: 4)
            .MapBatches(b => Payload.Add(b, Floats))
            .MapBatches(() => new Slow(), "slow", new MapBatchesOptions { Name = "model", Pool = new PoolSize(2, 2), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        await ds.WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30), PreserveOrder = true, MemoryBudgetBytes = 2 * BlockRows * (Floats * 4L + 8) })
            .WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => (long)i), sink.Ids.Order());
    }

    /// <summary>Finishes batches out of order: a batch whose first id is odd in hundreds yields first, so later blocks overtake.</summary>
    private sealed class Slow : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            var first = ((Int64Array)batch.Column("id")).GetValue(0)!.Value;
            if (first / 250 % 3 == 0) await Task.Yield();
            return batch;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
