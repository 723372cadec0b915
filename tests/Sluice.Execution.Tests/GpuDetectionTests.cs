using Sluice.Execution.Resources;

namespace Sluice.Execution.Tests;

public sealed class GpuDetectionTests
{
    private const string TwoH100s =
        "0, NVIDIA H100 80GB HBM3, 81559, GPU-8932f937-d72c-4106-c12f-20bd9faed9f6\n" +
        "1, NVIDIA H100 80GB HBM3, 81559, GPU-2a1b3c4d-0000-1111-2222-333344445555\n";

    private static readonly IReadOnlyList<GpuInfo> Gpus = GpuDetection.Parse(TwoH100s);

    [Fact]
    public void Parse_TwoH100s_ReadsIndexNameMemoryAndUuid()
    {
        Assert.Equal(
            [
                new GpuInfo(0, "NVIDIA H100 80GB HBM3", 81559, "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"),
                new GpuInfo(1, "NVIDIA H100 80GB HBM3", 81559, "GPU-2a1b3c4d-0000-1111-2222-333344445555"),
            ],
            Gpus);
    }

    [Fact]
    public void Parse_ThreeColumnsWithCrLfAndNoise_ReadsTheGpusOnly()
    {
        var gpus = GpuDetection.Parse("0, NVIDIA H100 PCIe, 81559\r\n\r\nWARNING: infoROM is corrupted\r\n1, NVIDIA H100 PCIe, 81559\r\n");

        Assert.Equal([new GpuInfo(0, "NVIDIA H100 PCIe", 81559), new GpuInfo(1, "NVIDIA H100 PCIe", 81559)], gpus);
    }

    [Theory]
    [InlineData(null, new[] { 0, 1 })]
    [InlineData("0", new[] { 0 })]
    [InlineData("1,0", new[] { 1, 0 })]
    [InlineData(" 1 , 0 ", new[] { 1, 0 })]
    [InlineData("", new int[0])]
    [InlineData("-1", new int[0])]
    [InlineData("0,-1,1", new[] { 0 })]
    [InlineData("7", new int[0])]
    [InlineData("GPU-2a1b3c4d", new[] { 1 })]
    [InlineData("GPU-8932f937-d72c-4106-c12f-20bd9faed9f6,0", new[] { 0 })]
    public void ApplyVisibleDevices_CudaVisibleDevices_KeepsThoseInCudaOrder(string? env, int[] expected)
    {
        var visible = GpuDetection.ApplyVisibleDevices(Gpus, env);

        Assert.Equal(expected, visible.Select(g => g.Index));
    }

    [Fact]
    public void DetectGpus_WhereNoGpuExists_ReturnsZero()
    {
        // This machine has no NVIDIA driver, so no nvidia-smi on PATH: detection must quietly say 0.
        Assert.Equal(0, GpuDetection.DetectGpus());
    }

    [Fact]
    public void Detect_FakeNvidiaSmi_ReadsItsOutputAndHonoursVisibleDevices()
    {
        var smi = FakeNvidiaSmi($"printf '{TwoH100s.Replace("\n", "\\n", StringComparison.Ordinal)}'");

        Assert.Equal(2, GpuDetection.Detect(smi, null, TimeSpan.FromSeconds(5)).Count);
        Assert.Equal([1], GpuDetection.Detect(smi, "1", TimeSpan.FromSeconds(5)).Select(g => g.Index));
        Assert.Empty(GpuDetection.Detect(smi, "", TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Detect_NvidiaSmiFailsOrHangs_ReturnsNoGpusWithoutThrowing()
    {
        var failing = FakeNvidiaSmi("echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver' >&2; exit 9");
        var hanging = FakeNvidiaSmi("sleep 30");
        var missing = Path.Combine(Path.GetTempPath(), "sluice-no-such-dir", "nvidia-smi");

        Assert.Empty(GpuDetection.Detect(failing, null, TimeSpan.FromSeconds(5)));
        var started = DateTime.UtcNow;
        Assert.Empty(GpuDetection.Detect(hanging, null, TimeSpan.FromMilliseconds(200)));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "a hung nvidia-smi held detection past its timeout");
        Assert.Empty(GpuDetection.Detect(missing, null, TimeSpan.FromSeconds(5)));
    }

    private static string FakeNvidiaSmi(string body)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sluice-gpu-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "nvidia-smi");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        // The fake is a shell script; Sluice runs on Linux (its GPU stack is linux-x64 only).
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
