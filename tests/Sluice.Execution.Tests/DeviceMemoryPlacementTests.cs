using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution.Budget;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// A GPU stage's need is its weights plus the activations of its batch, and actors that share a device are summed
/// against the device's memory (issue 10, item 4).
/// </summary>
public sealed class DeviceMemoryPlacementTests
{
    private const long MiB = 1024 * 1024;

    private static NodeResources Gpus(int count, long deviceBytes) => new NodeResources(8, 0, 1L << 30).WithSimulatedGpus(count, deviceBytes);

    private static ResourceRequest HalfGpu(long deviceBytes) => new(Cpus: 1, Gpus: 0.5) { DeviceMemoryBytes = deviceBytes };

    [Fact]
    public void TryAcquire_TwoHalfGpuActorsNeeding60PercentEach_DoNotShareADevice()
    {
        var one = new ResourceManager(Gpus(1, 1000 * MiB));
        Assert.NotNull(one.TryAcquire(HalfGpu(600 * MiB)));
        Assert.False(one.Fits(HalfGpu(600 * MiB)));
        Assert.Null(one.TryAcquire(HalfGpu(600 * MiB)));

        var two = new ResourceManager(Gpus(2, 1000 * MiB));
        var first = two.TryAcquire(HalfGpu(600 * MiB))!;
        var second = two.TryAcquire(HalfGpu(600 * MiB))!;
        Assert.NotEqual(first.GpuIds[0], second.GpuIds[0]);
        Assert.Empty(two.OverCommitted());
    }

    [Fact]
    public void TryAcquire_TwoHalfGpuActorsNeeding40PercentEach_ShareOneDevice()
    {
        var manager = new ResourceManager(Gpus(2, 1000 * MiB));
        var first = manager.TryAcquire(HalfGpu(400 * MiB))!;
        var second = manager.TryAcquire(HalfGpu(400 * MiB))!;
        Assert.Equal(first.GpuIds[0], second.GpuIds[0]);
        Assert.Equal([1.0, 0.0], manager.DeviceUse);
    }

    [Fact]
    public void Release_DeviceMemoryComesBack_NextActorFits()
    {
        var manager = new ResourceManager(Gpus(1, 1000 * MiB));
        var first = manager.TryAcquire(HalfGpu(600 * MiB))!;
        Assert.Null(manager.TryAcquire(HalfGpu(600 * MiB)));
        manager.Release(first);
        Assert.NotNull(manager.TryAcquire(HalfGpu(600 * MiB)));
    }

    [Fact]
    public void TryAcquire_UnknownDeviceMemory_CountsShareOnly()
    {
        var manager = new ResourceManager(Gpus(1, 0));
        Assert.NotNull(manager.TryAcquire(HalfGpu(600 * MiB)));
        Assert.NotNull(manager.TryAcquire(HalfGpu(600 * MiB)));
    }

    [Fact]
    public void TryAcquire_FullDeviceOnOneNode_GoesToTheOther()
    {
        var manager = new ResourceManager([new NodeInfo("a", Gpus(1, 1000 * MiB)), new NodeInfo("b", Gpus(1, 1000 * MiB))]);
        var nodes = new[] { manager.TryAcquire(HalfGpu(600 * MiB))!.Node, manager.TryAcquire(HalfGpu(600 * MiB))!.Node };
        Assert.Equal(["a", "b"], nodes.Order());
    }

    /// <summary>Property: whatever the requests and releases, no device holds more memory than it has, and the books match the grants.</summary>
    [Fact]
    public void TryAcquire_RandomDeviceNeeds_NeverOverCommitsDeviceMemory()
    {
        double[] shares = [0.25, 0.5, 1, 2];
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var node = Gpus(random.Next(1, 5), 1000 * MiB);
            var manager = new ResourceManager(node);
            var held = new List<ResourceGrant>();
            for (var step = 0; step < 100; step++)
            {
                if (held.Count > 0 && random.NextDouble() < 0.4)
                {
                    var i = random.Next(held.Count);
                    manager.Release(held[i]);
                    held.RemoveAt(i);
                    continue;
                }
                var request = new ResourceRequest(Gpus: shares[random.Next(shares.Length)]) { DeviceMemoryBytes = random.Next(0, 11) * 100 * MiB };
                var fits = manager.Fits(request);
                var grant = manager.TryAcquire(request);
                Assert.Equal(fits, grant is not null);
                if (grant is not null) held.Add(grant);
                for (var d = 0; d < node.GpuCount; d++)
                {
                    var onDevice = held.Where(g => g.GpuIds.Contains(d)).Sum(g => g.Request.DeviceMemoryBytes);
                    Assert.True(onDevice <= node.GpuMemoryBytes, $"seed {seed}: gpu {d} holds {onDevice} B");
                }
                Assert.Empty(manager.OverCommitted());
            }
        }
    }

    /// <summary>Needs <see cref="NeedOptions.Weights"/> on each GPU plus <see cref="NeedOptions.PerRow"/> per row of a batch.</summary>
    public sealed record NeedOptions(long Weights, long PerRow);

    internal sealed class NeedProcessor(NeedOptions options) : IBatchProcessor, IDeviceMemoryNeed
    {
        public int? MeasuredRows { get; private set; }

        public long DeviceBytesPerGpu(ResourceRequest resources) => options.Weights;

        public long ActivationBytesPerGpu(ResourceRequest resources, int batchRows)
        {
            MeasuredRows = batchRows;
            return options.PerRow * batchRows;
        }

        public string HowToFit(long deviceBytes) => "partition the model";

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static Dataset Job(long weights, long perRow, double gpus, int batch, PoolSize pool) =>
        Dataset.Range(200, new ReadOptions { BlockRows = 10 })
            .MapBatches(() => new NeedProcessor(new NeedOptions(weights, perRow)), nameof(NeedProcessor),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Cpus: 1, Gpus: gpus), Pool = pool, BatchSize = batch });

    private static ExecutionOptions On(int gpus, long deviceBytes) => new() { Resources = Gpus(gpus, deviceBytes) };

    [Theory]
    [InlineData(60, 1)] // two 0.5-gpu actors of 60% each: one device holds one of them
    [InlineData(40, 2)] // of 40% each: both share the device
    public async Task Write_HalfGpuActorsOnOneDevice_SummedNeedDecidesHowManyRun(int percent, int actors)
    {
        var sink = new MemorySink();
        // Weights 20% of the device, activations the rest of the stage's need for its batch of 10 rows.
        var weights = 20 * MiB;
        var perRow = (percent - 20) * MiB / 10;

        var result = await Job(weights, perRow, gpus: 0.5, batch: 10, new PoolSize(1, 2, Initial: 2)).WriteAsync(sink, On(1, 100 * MiB));

        Assert.Equal(200, sink.Rows);
        var stage = result.Operators.Single(o => o.Name == "model");
        // Placed on the one device at once (not: ready at once, which depends on how fast the first drains the input).
        Assert.Equal(actors, stage.ActorsStarted);
        Assert.Equal(0.5 * actors, result.PeakDeviceAllocation[0], 9);
        Assert.Contains($"device_memory={percent}MiB", stage.Resources);
    }

    [Fact]
    public async Task Write_WeightsFitButNotWithTheBatchsActivations_RefusedNamingBatchSize()
    {
        var sink = new MemorySink();

        var e = await Assert.ThrowsAsync<SluiceException>(() => Job(30 * MiB, MiB, gpus: 1, batch: 64, new PoolSize(1, 1)).WriteAsync(sink, On(2, 64 * MiB)));

        Assert.Contains("stage 'model': each GPU must hold 94 MiB (model weights 30 MiB + activations of batch_size 64 64 MiB) but the largest GPU has 64 MiB", e.Message);
        Assert.Contains("lower batch_size (now 64); or partition the model", e.Message);
        Assert.Equal(0, sink.Rows);
    }

    [Fact]
    public void Explain_GpuStage_ShowsEachActorsDeviceNeed()
    {
        var text = JobExecution.Explain(Job(30 * MiB, MiB, gpus: 0.5, batch: 16, new PoolSize(1, 1)), new MemorySink(), On(1, 100 * MiB));
        Assert.Contains("device_memory=46MiB", text);
    }

    [Fact]
    public async Task Write_StatedDeviceMemory_WinsOverTheProbe()
    {
        var sink = new MemorySink();
        var job = Dataset.Range(20, new ReadOptions { BlockRows = 10 })
            .MapBatches(() => new NeedProcessor(new NeedOptions(90 * MiB, 0)), nameof(NeedProcessor),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Cpus: 1, Gpus: 0.5) { DeviceMemoryBytes = 30 * MiB }, Pool = new PoolSize(1, 2, Initial: 2) });

        var result = await job.WriteAsync(sink, On(1, 100 * MiB));

        Assert.Equal(20, sink.Rows);
        // Both actors were placed on the one device (the probe's 90 MiB each would have let only one on): its peak
        // allocation is both halves. (Whether both were ever ready at once depends on how fast the first drains the input.)
        Assert.Equal(2, result.Operators.Single(o => o.Name == "model").ActorsStarted);
        Assert.Equal(1.0, result.PeakDeviceAllocation[0], 9);
    }
}
