namespace Sluice.Cluster.Tests;

/// <summary>Node ids are unique in a cluster: a second node with a live member's id is refused, and the member stays.</summary>
public sealed class NodeIdTests
{
    [Fact]
    public async Task Worker_IdOfALiveMember_IsRefusedAndTheMemberStays()
    {
        using var redis = await RedisServer.StartAsync();
        var id = $"w-twin-{Guid.NewGuid():N}"[..14];
        await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{Guid.NewGuid():N}"[..14] });
        using var first = await WorkerProcess.StartAsync(redis.Uri, id, "--cpus", "1", "--memory", "1GiB");
        await driver.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
        var left = new List<string>();
        driver.NodeLeft += n => { lock (left) left.Add(n.Id); };

        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => WorkerProcess.StartAsync(redis.Uri, id, "--cpus", "1", "--memory", "1GiB"));

        Assert.Contains($"node id '{id}' is already taken by a live member of the cluster", e.Message);
        Assert.Contains("give this node another --node-id, or stop that node first", e.Message);
        Assert.False(first.HasExited, $"the first {id} exited: {first.Output}");
        // The member was not disturbed: still running, still the one node of that id, never seen leaving.
        var node = Assert.Single(driver.Nodes, n => n.Id == id);
        Assert.Equal(1, node.Resources.Cpus);
        lock (left) Assert.Empty(left);
    }
}
