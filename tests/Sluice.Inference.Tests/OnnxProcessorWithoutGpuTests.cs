using Sluice.Contracts;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

/// <summary>
/// GPU stages on this machine, which has no GPU, no CUDA libraries and the CPU build of ONNX Runtime:
/// the job must be refused up front with what to install, and nothing may quietly run on the CPU.
/// </summary>
public sealed class OnnxProcessorWithoutGpuTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sluice-nogpu-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private string Model() => TinyOnnx.Identity(_dir, TinyOnnx.Float, "batch", 4);

    private static ProcessorContext Context(double gpus, IReadOnlyList<int> gpuIds, SimulatedDevices? simulated = null) =>
        new("embed", 0, new ResourceRequest(Cpus: 1, Gpus: gpus), gpuIds, simulated);

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.25)]
    public void Preflight_GpuStageWhereNoGpuExists_NamesGpuPackageAndCudaLibrariesToInstall(double gpus)
    {
        var processor = new OnnxProcessor(new OnnxOptions("model.onnx"));

        var problems = processor.Preflight("embed", new ResourceRequest(Gpus: gpus), gpusAreSimulated: false).ToList();
        problems.ForEach(output.WriteLine);

        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.StartsWith("stage 'embed':", p, StringComparison.Ordinal));
        Assert.Contains("reference Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31.0 instead of Microsoft.ML.OnnxRuntime (the CPU build has no CUDA provider)", problems[0]);
        Assert.Contains("install CUDA 13 runtime libraries (libcudart.so.13, libcublas.so.13", problems[1]);
        Assert.Contains("cuDNN 9 (libcudnn.so.9)", problems[1]);
        Assert.Contains("LD_LIBRARY_PATH", problems[1]);
    }

    [Fact]
    public void Preflight_CudaProviderOnStageWithoutGpusWhereNoGpuExists_AlsoSaysGiveTheStageGpus()
    {
        var processor = new OnnxProcessor(new OnnxOptions("model.onnx") { ExecutionProvider = "cuda" });

        var problems = processor.Preflight("embed", ResourceRequest.OneCpu, gpusAreSimulated: false).ToList();

        Assert.Equal(3, problems.Count);
        Assert.Contains("asks for no gpus", problems[0]);
    }

    [Fact]
    public void Preflight_CudaOnSimulatedGpus_SaysItCannotRunThereAndWhatToUseInstead()
    {
        var processor = new OnnxProcessor(new OnnxOptions("model.onnx") { ExecutionProvider = "cuda" });

        var problem = Assert.Single(processor.Preflight("embed", new ResourceRequest(Gpus: 1), gpusAreSimulated: true));

        Assert.StartsWith("stage 'embed':", problem, StringComparison.Ordinal);
        Assert.Contains("cannot run on simulated GPUs", problem);
        Assert.Contains("use provider auto", problem);
    }

    [Fact]
    public void Preflight_AutoOnSimulatedGpus_ReturnsNothing()
    {
        var processor = new OnnxProcessor(new OnnxOptions("model.onnx"));

        Assert.Empty(processor.Preflight("embed", new ResourceRequest(Gpus: 1), gpusAreSimulated: true));
    }

    [Theory]
    [InlineData("auto", 0.0)]
    [InlineData("cpu", 0.0)]
    [InlineData("cpu", 1.0)]
    public void Preflight_CpuStageWhereNoGpuExists_ReturnsNothing(string provider, double gpus)
    {
        var processor = new OnnxProcessor(new OnnxOptions("model.onnx") { ExecutionProvider = provider });

        Assert.Empty(processor.Preflight("embed", new ResourceRequest(Cpus: 2, Gpus: gpus), gpusAreSimulated: false));
    }

    [Fact]
    public async Task InitializeAsync_CudaProviderWithoutGpuIds_ThrowsInsteadOfFallingBackToCpu()
    {
        await using var processor = new OnnxProcessor(new OnnxOptions(Model()) { ExecutionProvider = "cuda" });

        var e = await Assert.ThrowsAsync<SluiceException>(() => processor.InitializeAsync(Context(0, []), CancellationToken.None).AsTask());

        Assert.Contains("stage 'embed'", e.Message);
        Assert.Contains("assigned no GPU", e.Message);
        Assert.Contains("gpus", e.Message);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("auto")]
    public async Task InitializeAsync_GpuIdWhereNoCudaProviderExists_ThrowsNamingWhatToInstall(string provider)
    {
        await using var processor = new OnnxProcessor(new OnnxOptions(Model()) { ExecutionProvider = provider });

        var e = await Assert.ThrowsAsync<SluiceException>(() => processor.InitializeAsync(Context(1, [3]), CancellationToken.None).AsTask());
        output.WriteLine(e.Message);

        Assert.Contains("CUDA execution provider could not be started on device 3", e.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", e.Message);
    }

    [Fact]
    public async Task InitializeAsync_CudaProviderOnSimulatedGpus_Throws()
    {
        await using var processor = new OnnxProcessor(new OnnxOptions(Model()) { ExecutionProvider = "cuda" });

        var e = await Assert.ThrowsAsync<SluiceException>(() => processor.InitializeAsync(Context(1, [0], new SimulatedDevices(1)), CancellationToken.None).AsTask());

        Assert.Contains("simulated GPUs", e.Message);
    }

    [Fact]
    public async Task InitializeAsync_AutoOnCpuActor_LoadsOnCpu()
    {
        await using var processor = new OnnxProcessor(new OnnxOptions(Model()));

        await processor.InitializeAsync(Context(0, []), CancellationToken.None);
    }

    [Fact]
    public async Task ProcessAsync_AutoOnSimulatedGpu_RunsOnCpuHoldingThatDevice()
    {
        var devices = new SimulatedDevices(2);
        await using var processor = new OnnxProcessor(new OnnxOptions(Model()));
        await processor.InitializeAsync(Context(1, [1], devices), CancellationToken.None);
        var (field, array) = TensorColumns.Create("x", new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, 2, [4]);

        var result = await processor.ProcessAsync(new Apache.Arrow.RecordBatch(new Apache.Arrow.Schema([field], null), [array], 2), CancellationToken.None);

        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], TensorColumns.Elements<float>(Batches.Tensor(result, "y")).ToArray());
        var busy = devices.BusyTimes();
        output.WriteLine($"device busy: {string.Join(", ", busy.Select(b => b.TotalMilliseconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))} ms");
        Assert.True(busy[1] > TimeSpan.Zero, "the run did not hold simulated device 1");
        Assert.Equal(TimeSpan.Zero, busy[0]);
    }

    [Fact]
    public void DeviceBytesPerGpu_IsTheModelFilesSize()
    {
        var model = Model();
        var processor = new OnnxProcessor(new OnnxOptions(model));

        Assert.Equal(new FileInfo(model).Length, processor.DeviceBytesPerGpu(new ResourceRequest(Gpus: 1)));
        Assert.Contains("max_stage_bytes: 64MiB", processor.HowToFit(64L << 20));
    }
}
