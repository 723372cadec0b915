using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>Stages whose weights must stay on each GPU are checked against the devices' memory before anything starts (issue 5).</summary>
public sealed class DeviceMemoryPreflightTests
{
    /// <summary>A processor that keeps <see cref="WeightOptions.Bytes"/> on each GPU and passes batches through.</summary>
    public sealed record WeightOptions(long Bytes);

    /// <remarks>Counts into the test's own <see cref="ProcessorLedger"/> (no static counter shared between tests).</remarks>
    internal sealed class WeightsProcessor(WeightOptions options, ProcessorLedger ledger) : IBatchProcessor, IDeviceMemoryNeed
    {
        public long DeviceBytesPerGpu(ResourceRequest resources) => options.Bytes;

        public string HowToFit(long deviceBytes) => $"split it into parts of at most {deviceBytes} B";

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
        {
            ledger.OnInitialized();
            return ValueTask.CompletedTask;
        }

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static Dataset Job(long bytes, ProcessorLedger ledger, double gpus = 1) =>
        Dataset.Range(100, new ReadOptions { BlockRows = 10 })
            .MapBatches(() => new WeightsProcessor(new WeightOptions(bytes), ledger), nameof(WeightsProcessor), new MapBatchesOptions { Name = "big", Resources = new ResourceRequest(Gpus: gpus), Pool = new PoolSize(1, 1) });

    private static ExecutionOptions On(long deviceBytes) =>
        new() { Resources = new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(2, deviceBytes) };

    [Fact]
    public async Task Write_WeightsLargerThanEveryGpu_RefusedBeforeAnyActorStarts()
    {
        var sink = new MemorySink();
        var ledger = new ProcessorLedger();

        var e = await Assert.ThrowsAsync<SluiceException>(() => Job(100L << 20, ledger).WriteAsync(sink, On(64L << 20)));

        Assert.Contains("stage 'big': each GPU must hold 100 MiB (model weights) but the largest GPU has 64 MiB", e.Message);
        Assert.Contains("split it into parts of at most 67108864 B", e.Message);
        Assert.Equal(0, ledger.Initialized);
        Assert.Equal(0, sink.Rows);
    }

    [Theory]
    [InlineData(64L << 20, 64L << 20)]  // fits exactly
    [InlineData(100L << 20, 0L)]        // the devices' memory is unknown (0): nothing to check against
    public async Task Write_WeightsThatFitOrUnknownMemory_Runs(long weights, long device)
    {
        var sink = new MemorySink();
        var ledger = new ProcessorLedger();
        await Job(weights, ledger).WriteAsync(sink, On(device));
        Assert.Equal(100, sink.Rows);
        Assert.Equal(1, ledger.Initialized);
    }

    [Fact]
    public async Task Write_CpuStageWithLargeWeights_IsNotChecked()
    {
        var sink = new MemorySink();
        await Job(100L << 20, new ProcessorLedger(), gpus: 0).WriteAsync(sink, On(64L << 20));
        Assert.Equal(100, sink.Rows);
    }
}
