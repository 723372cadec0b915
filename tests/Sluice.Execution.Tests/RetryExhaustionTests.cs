using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Execution.Tests;

internal sealed class FailOnLastBlockProcessor : IBatchProcessor
{
    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) =>
        batch.Length < 100 ? throw new InvalidOperationException("device refused the batch") : ValueTask.FromResult(batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public class RetryExhaustionTests
{
    [Fact]
    public async Task WriteAsync_ActorFailsEveryTryOnOneBlock_FailsAfterRetriesNamingStageAndRows()
    {
        var ds = Dataset.Range(1_010, new Plan.ReadOptions { BlockRows = 100 }, tasks: 1)
            .MapBatches<FailOnLastBlockProcessor>(new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2) });
        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => ds.WriteAsync(new MemorySink(), new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30) }).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsNotType<BadInputException>(e);
        Assert.Contains("stage 'model'", e.Message);
        Assert.Contains("range[0..1010) rows 1001–1010", e.Message);
    }
}
