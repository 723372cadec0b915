using Sluice.Execution;

namespace Sluice.Cluster.Tests;

/// <summary>A node declares at most what it detects, unless the operator allows oversubscription; simulated GPUs are always allowed.</summary>
public sealed class OversubscribeTests
{
    private static readonly NodeResources Detected = new(2, 0, 24L << 30);

    private static List<string> Validate(NodeResources declared, bool allow = false) =>
        new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Resources = declared, AllowOversubscribe = allow }.Validate(Detected).ToList();

    [Fact]
    public void Validate_WithinDetected_Accepted()
    {
        Assert.Empty(Validate(new NodeResources(2, 0, 2L << 30)));
        Assert.Empty(Validate(new NodeResources(0.5, 0, 24L << 30)));
    }

    [Fact]
    public void Validate_MoreCpusThanDetected_NamesFlagValueAndDetected()
    {
        var error = Assert.Single(Validate(new NodeResources(8, 0, 1L << 30)));

        Assert.StartsWith("--cpus: 8 is more than the 2 cores detected on this machine; give at most that, or pass --allow-oversubscribe", error);
    }

    [Fact]
    public void Validate_GpusOnAMachineWithout_NamesFlagAndSuggestsSimulated()
    {
        var error = Assert.Single(Validate(new NodeResources(1, 1, 1L << 30)));

        Assert.StartsWith("--gpus: 1 is more than the 0 GPUs detected on this machine;", error);
        Assert.Contains("--sim-gpus N", error);
    }

    [Fact]
    public void Validate_MoreMemoryThanDetected_NamesFlagValueAndDetected()
    {
        var error = Assert.Single(Validate(new NodeResources(1, 0, 64L << 30)));

        Assert.StartsWith($"--memory: {64L << 30:N0} bytes is more than the {24L << 30:N0} bytes ({24576:N0} MiB) detected on this machine", error);
    }

    [Fact]
    public void Validate_SimulatedGpus_AlwaysAccepted()
    {
        Assert.Empty(Validate(new NodeResources(2, 0, 2L << 30).WithSimulatedGpus(8)));
    }

    [Fact]
    public void Validate_AllowOversubscribe_AcceptsEverything()
    {
        Assert.Empty(Validate(new NodeResources(64, 4, 1L << 40), allow: true));
    }

    [Fact]
    public async Task Worker_MoreCpusThanDetected_ExitsNamingTheFlagUnlessAllowed()
    {
        var cpus = (Environment.ProcessorCount * 4).ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Refused before Redis is contacted: nothing listens on port 1.
        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => WorkerProcess.StartAsync("redis://127.0.0.1:1", "w-over", "--cpus", cpus));

        Assert.Contains($"--cpus: {cpus} is more than the {Environment.ProcessorCount} cores detected on this machine", e.Message);
        Assert.Contains("--allow-oversubscribe", e.Message);
    }

    [Fact]
    public async Task Worker_AllowOversubscribe_Joins()
    {
        using var redis = await RedisServer.StartAsync();
        var cpus = (Environment.ProcessorCount * 4).ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var worker = await WorkerProcess.StartAsync(redis.Uri, $"w-over-{Guid.NewGuid():N}"[..13], "--cpus", cpus, "--allow-oversubscribe");

        Assert.False(worker.HasExited);
    }
}
