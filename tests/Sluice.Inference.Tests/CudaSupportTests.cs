using Sluice.Contracts;

namespace Sluice.Inference.Tests;

/// <summary>The CUDA checks with faked probes, so both outcomes show on a machine without a GPU.</summary>
public sealed class CudaSupportTests
{
    private static readonly ResourceRequest OneGpu = new(Cpus: 1, Gpus: 1);

    private static CudaSupport Faked(bool provider, params string[] missingLibraries) =>
        new(() => provider ? ["CUDAExecutionProvider", "CPUExecutionProvider"] : ["CPUExecutionProvider"], l => !missingLibraries.Contains(l));

    [Fact]
    public void Preflight_FakedProviderAndLibrariesPresent_ReturnsNothing()
    {
        Assert.Empty(Faked(provider: true).Preflight("auto", "embed", OneGpu, gpusAreSimulated: false));
        Assert.Empty(Faked(provider: true).Preflight("cuda", "embed", new ResourceRequest(Gpus: 0.5), gpusAreSimulated: false));
    }

    [Fact]
    public void Preflight_FakedOnlyCudnnMissing_NamesCudnnOnly()
    {
        var problem = Assert.Single(Faked(true, "libcudnn.so.9").Preflight("auto", "embed", OneGpu, gpusAreSimulated: false));

        Assert.Contains("cannot find libcudnn.so.9;", problem);
    }

    [Fact]
    public void Preflight_FakedProviderMissing_SaysSwapPackageAndListsWhatItHas()
    {
        var problem = Assert.Single(Faked(false).Preflight("auto", "embed", OneGpu, gpusAreSimulated: false));

        Assert.Contains("(it has CPUExecutionProvider)", problem);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31.0", problem);
    }

    [Fact]
    public void Preflight_FakedProviderMissing_NamesTheGpuBuildSwitch()
    {
        var problem = Assert.Single(Faked(false).Preflight("auto", "embed", OneGpu, gpusAreSimulated: false));

        Assert.Contains("-p:SluiceGpu=true", problem);
    }

    [Theory]
    [InlineData("auto", new[] { 2, 5 }, false, 2)]
    [InlineData("cuda", new[] { 1 }, false, 1)]
    [InlineData("AUTO", new[] { 0 }, false, 0)]
    [InlineData("auto", new int[0], false, null)]
    [InlineData("auto", new[] { 0 }, true, null)]
    [InlineData("cpu", new[] { 0 }, false, null)]
    public void Device_ProviderAndActorGpus_PicksFirstRealGpuOrCpu(string provider, int[] gpuIds, bool simulated, int? expected)
    {
        var context = new ProcessorContext("embed", 0, OneGpu, gpuIds, simulated ? new SimulatedDevices(1) : null);

        Assert.Equal(expected, CudaSupport.Device(provider, context));
    }
}
