namespace Sluice.Cluster.Tests;

/// <summary>Cluster mistakes a new user makes are one clear line naming the real address.</summary>
public class ClusterErrorTests
{
    [Fact]
    public async Task StartAsync_RedisUnreachable_SaysSoInOneLineNamingTheAddress()
    {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var e = await Assert.ThrowsAsync<SluiceException>(() => OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = "redis://127.0.0.1:1" }));
        Assert.Equal("cannot reach Redis at redis://127.0.0.1:1: is redis-server running there? Start it, or give the right address with --cluster redis://HOST:PORT", e.Message);
    }

    [Fact]
    public async Task WaitForWorkersAsync_NoneJoin_NamesTheClustersRealAddress()
    {
        using var redis = await RedisServer.StartAsync();
        await using var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{Guid.NewGuid():N}"[..15] });
        var e = await Assert.ThrowsAsync<SluiceException>(() => runtime.WaitForWorkersAsync(1, TimeSpan.FromMilliseconds(300)));
        Assert.Contains($"start workers with `sluice worker --cluster {redis.Uri}`", e.Message);
    }
}
