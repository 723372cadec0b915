using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// A memory budget smaller than the blocks it must hold still lets the job progress: an operator holding nothing may
/// always take one block. Before, a 16 MiB budget with 4096-row MiniLM blocks hung forever at 0 rows: the model stage
/// was refused its first block because twice the block (its first output estimate) did not fit the node's budget.
/// </summary>
public sealed class BudgetProgressTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task WriteAsync_BudgetSmallerThanTwoBlocks_CompletesWithEveryRow()
    {
        // Blocks of 4096 rows x 700 floats (~11 MiB) into an actor stage under a 16 MiB budget, as the MiniLM case.
        var ds = Dataset.Range(12_288, new ReadOptions { BlockRows = 4096 }, tasks: 2)
            .MapBatches(b => Payload.Add(b, 700))
            .MapBatches(() => new DropPayload(), "drop", new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        var stats = await ds.WriteAsync(sink, Options(16L << 20)).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 12_288).Select(i => (long)i), sink.Ids.Order());
        // The premise: twice a block (the model stage's first output estimate) exceeds the budget.
        var read = stats.Operators[0];
        Assert.True(2 * read.BytesOut / read.BlocksOut > 16L << 20, $"blocks of {read.BytesOut / read.BlocksOut} bytes do not exercise the progress rule");
    }

    [Fact]
    public async Task WriteAsync_BudgetSmallerThanOneBlock_StillCompletes()
    {
        var ds = Dataset.Range(3_000, new ReadOptions { BlockRows = 500 }, tasks: 3)
            .MapBatches(b => Payload.Add(b, 256))
            .MapBatches(() => new DropPayload(), "drop", new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        await ds.WriteAsync(sink, Options(64 << 10)).WaitAsync(Limit);

        Assert.Equal(3_000, sink.Rows);
    }

    private static ExecutionOptions Options(long budget) => new() { Resources = new NodeResources(4, 0, 1L << 30), MemoryBudgetBytes = budget };

    /// <summary>A model stage's shape: a big input, a small output.</summary>
    private sealed class DropPayload : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new RecordBatch(new Schema.Builder().Field(batch.Schema.GetFieldByName("id")).Build(), [batch.Column("id")], batch.Length));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
