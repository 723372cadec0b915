using Sluice.Contracts;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

/// <summary>
/// The activations of a batch are measured by a probe Run of the real model (issue 10, item 4). Alone: the probe reads
/// the process's resident memory, which tests running beside it would move.
/// </summary>
[Collection(ProbeCollection.Name)]
public sealed class ActivationProbeTests(ModelFixture models, ITestOutputHelper output)
{
    [Fact]
    public void ActivationBytesPerGpu_MiniLm_GrowsWithTheBatchAndHoldsAtLeastItsOutput()
    {
        var processor = new OnnxProcessor(new OnnxOptions(models.MiniLm.Model) { MeasureActivations = true });
        var gpu = new ResourceRequest(Gpus: 1);

        var at8 = processor.ActivationBytesPerGpu(gpu, 8);
        var at64 = processor.ActivationBytesPerGpu(gpu, 64);
        output.WriteLine($"MiniLM seq {ActivationProbe.DynamicLength}: activations at 8 rows {at8 / (1024.0 * 1024):0.0} MiB, at 64 rows {at64 / (1024.0 * 1024):0.0} MiB; weights {processor.DeviceBytesPerGpu(gpu) / (1024.0 * 1024):0.0} MiB");

        // The last hidden state alone is rows x 128 x 384 floats; the run holds it and more.
        Assert.True(at64 >= 64L * ActivationProbe.DynamicLength * 384 * 4, $"{at64} B at 64 rows");
        Assert.True(at64 > at8, $"{at64} B at 64 rows, {at8} B at 8");
        Assert.True(at64 < 4L << 30, $"{at64} B at 64 rows");
    }

    [Fact]
    public void ActivationBytesPerGpu_DualTower_ImagesAndTextAtSixteenRows()
    {
        var processor = new OnnxProcessor(new OnnxOptions(models.DualTower.Model) { MeasureActivations = true });
        var gpu = new ResourceRequest(Gpus: 1);

        var at16 = processor.ActivationBytesPerGpu(gpu, 16);
        output.WriteLine($"dual tower: activations at 16 rows {at16 / (1024.0 * 1024):0.0} MiB; weights {processor.DeviceBytesPerGpu(gpu) / (1024.0 * 1024):0.0} MiB");

        // More than the 16 input images themselves (3 x 224 x 224 floats each): the towers' activations are many times that.
        Assert.True(at16 >= 2 * 16L * 3 * 224 * 224 * 4, $"{at16} B at 16 rows");
    }

    [Fact]
    public void ActivationBytesPerGpu_NotAskedFor_IsZeroWithoutLoadingTheModel()
    {
        var processor = new OnnxProcessor(new OnnxOptions(models.MiniLm.Model));
        Assert.Equal(0, processor.ActivationBytesPerGpu(new ResourceRequest(Gpus: 1), 64));
    }

    [Fact]
    public void ActivationBytesPerGpu_MissingModel_IsZero()
    {
        var processor = new OnnxProcessor(new OnnxOptions("no-such-model.onnx") { MeasureActivations = true });
        Assert.Equal(0, processor.ActivationBytesPerGpu(new ResourceRequest(Gpus: 1), 8));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProbeCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "activation probe";
}
