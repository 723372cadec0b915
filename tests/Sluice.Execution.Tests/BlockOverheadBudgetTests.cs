using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// The budget charges what a block really holds, not its Arrow payload alone: with one-row blocks of 8 bytes, a 64 MiB
/// budget once let 1.13M blocks queue (1.55 GB of RSS). Each block now costs its payload plus a per-block and a
/// per-column overhead, so a small budget holds few one-row blocks.
/// </summary>
public sealed class BlockOverheadBudgetTests
{
    [Fact]
    public async Task WriteAsync_OneRowBlocks_ChargesPayloadPlusOverheadAndStaysWithinBudget()
    {
        const long Budget = 64 << 10;
        var ds = Dataset.Range(600, new ReadOptions { BlockRows = 1 }, tasks: 2)
            .MapBatches(() => new Slow(), "slow", new MapBatchesOptions { Name = "slow", Pool = new PoolSize(1, 1), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        var stats = await ds.WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30), MemoryBudgetBytes = Budget })
            .WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(600, sink.Rows);
        var read = stats.Operators[0];
        Assert.Equal(8 + Block.OverheadBytes + Block.ColumnOverheadBytes, read.BytesOut / read.BlocksOut);
        // Payload alone would have let 8,192 one-row blocks into 64 KiB; with the overhead, ~56.
        Assert.True(stats.PeakUsedBytes <= Budget, $"peak {stats.PeakUsedBytes} bytes charged over a budget of {Budget}");
    }

    [Fact]
    public void HeldBytes_IsPayloadPlusPerBlockAndPerColumnOverhead()
    {
        var a = new Int64Array.Builder().Append(1).Append(2).Build();
        var b = new Int64Array.Builder().Append(3).Append(4).Build();
        var schema = new Schema.Builder().Field(f => f.Name("a").DataType(Apache.Arrow.Types.Int64Type.Default)).Field(f => f.Name("b").DataType(Apache.Arrow.Types.Int64Type.Default)).Build();
        var block = new Block(new RecordBatch(schema, [a, b], 2), default);

        Assert.Equal(32, block.Bytes);
        Assert.Equal(32 + Block.OverheadBytes + 2 * Block.ColumnOverheadBytes, block.HeldBytes);
    }

    private sealed class Slow : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            await Task.Delay(1, cancellationToken);
            return batch;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
