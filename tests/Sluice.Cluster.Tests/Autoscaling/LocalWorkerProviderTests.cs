using Sluice.Cluster.Autoscaling;

namespace Sluice.Cluster.Tests.Autoscaling;

/// <summary>What the local provider gives a worker, and what it never shows: the Redis password.</summary>
public sealed class LocalWorkerProviderTests : IDisposable
{
    private const string Password = "s3cret-pw";
    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-provider-").FullName;

    [Fact]
    public void WorkerArgs_GroupAndDriverOptions_BecomeWorkerFlagsWithoutThePassword()
    {
        var provider = Provider(new ClusterNodeOptions { Redis = $"redis://:{Password}@127.0.0.1:6390", FastFailureDetection = true });
        var group = new WorkerGroup { Name = "gpu", Max = 3, Cpus = 1, Gpus = 1, SimulatedGpus = true, Memory = 1L << 30, Args = ["--drain-timeout", "5"] };
        var args = provider.WorkerArgs(group, "gpu-1-abc");
        Assert.Equal(["worker", "--cluster", "redis://127.0.0.1:6390", "--node-id", "gpu-1-abc", "--group", "gpu", "--cpus", "1", "--sim-gpus", "1",
            "--memory", "1073741824", "--fast-failure-detection", "--drain-timeout", "5"], args);
        Assert.DoesNotContain(args, a => a.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public void WorkerArgs_RealGpusAndMoreCoresThanTheMachine_GpusGivenAndOversubscribeAllowed()
    {
        var provider = Provider(new ClusterNodeOptions { Redis = "redis://127.0.0.1:6390" });
        var args = provider.WorkerArgs(new WorkerGroup { Name = "big", Cpus = Environment.ProcessorCount + 1, Gpus = 2 }, "big-1-abc");
        Assert.Contains("--allow-oversubscribe", args);
        Assert.Equal("2", args[args.IndexOf("--gpus") + 1]);
        Assert.DoesNotContain("--sim-gpus", args);
    }

    [Fact]
    public async Task AddAsync_WithAPassword_LogsTheMaskedAddressOnly()
    {
        var log = new List<string>();
        var provider = Provider(new ClusterNodeOptions { Redis = $"redis://:{Password}@127.0.0.1:6390" }, log);
        // Not a real sluice.dll: the process fails at once, which is all this test needs (the log line of its start).
        await provider.AddAsync(new WorkerGroup { Name = "cpu" }, 1, CancellationToken.None);
        await provider.DisposeAsync();
        Assert.Contains(log, l => l.Contains("redis://***@127.0.0.1:6390", StringComparison.Ordinal) && l.Contains(provider.LogDirectory, StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains(Password, StringComparison.Ordinal));
    }

    private LocalWorkerProvider Provider(ClusterNodeOptions cluster, List<string>? log = null)
    {
        var dll = Path.Combine(_dir, "sluice.dll");
        File.WriteAllText(dll, "not an assembly");
        return new LocalWorkerProvider(dll, cluster, Path.Combine(_dir, "logs"), log is null ? null : log.Add, TimeSpan.FromSeconds(5));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
