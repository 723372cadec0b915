using Sluice.Contracts;
using Sluice.Execution.Budget;

namespace Sluice.Execution.Tests;

/// <summary>The counts a node's books keep as grants come and go, and the resource manager over many nodes.</summary>
public class NodeBookTests
{
    private static readonly double[] GpuChoices = [0, 0.25, 0.5, 1, 2];

    /// <summary>Property: the GPUs in use and the whole free devices, kept per grant, equal a count of the devices.</summary>
    [Fact]
    public void Counts_RandomGrantsAndReleases_EqualTheDevices()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var book = new NodeBook(new NodeInfo("n", new NodeResources(8, random.Next(0, 9), 1L << 30)));
            var held = new List<ResourceGrant>();
            for (var step = 0; step < 200; step++)
            {
                if (held.Count > 0 && random.NextDouble() < 0.4)
                {
                    var i = random.Next(held.Count);
                    book.Release(held[i]);
                    held.RemoveAt(i);
                }
                else
                {
                    var request = new ResourceRequest(0, GpuChoices[random.Next(GpuChoices.Length)]);
                    var fits = book.Fits(request);
                    var grant = book.TryAcquire(request);
                    Assert.Equal(fits, grant is not null);
                    if (grant is not null) held.Add(grant);
                }
                Assert.Equal(book.DeviceUsed.Sum(), book.GpusUsed, 9);
                Assert.Equal(book.DeviceUsed.Count(u => u <= NodeBook.Epsilon), book.WholeFree);
            }
        }
    }

    [Fact]
    public void TryAcquire_HundredNodes_SpreadsEvenlyAndFillsEveryDevice()
    {
        var nodes = Enumerable.Range(0, 100).Select(i => new NodeInfo($"n{i}", new NodeResources(8, 10, 1L << 30))).ToList();
        var manager = new ResourceManager(nodes);
        var grants = Enumerable.Range(0, 1000).Select(_ => manager.TryAcquire(new ResourceRequest(0, 1))).ToList();

        Assert.All(grants, Assert.NotNull);
        Assert.All(grants.GroupBy(g => g!.Node), g => Assert.Equal(10, g.Count()));
        // The first 100 go one to each node (the most free first), not ten to the first node.
        Assert.Equal(100, grants.Take(100).Select(g => g!.Node).Distinct().Count());
        Assert.Null(manager.TryAcquire(new ResourceRequest(0, 1)));
        Assert.False(manager.Fits(new ResourceRequest(0, 1)));
    }

    [Fact]
    public void DeviceUse_AfterAGrantOrARelease_ShowsIt_AndIsTheSameListWhenNothingChanged()
    {
        var manager = new ResourceManager([new NodeInfo("a", new NodeResources(4, 2, 1L << 30)), new NodeInfo("b", new NodeResources(4, 2, 1L << 30))]);
        var before = manager.DeviceUse;
        Assert.Same(before, manager.DeviceUse);
        Assert.Equal("cpus 0/8, gpus 0/4 on 2 nodes", manager.Describe());

        var grant = manager.TryAcquire(new ResourceRequest(1, 1))!;

        Assert.NotSame(before, manager.DeviceUse);
        Assert.Equal(1, manager.DeviceUse.Sum());
        Assert.Equal(1, manager.PeakDeviceUse.Sum());
        Assert.Equal("cpus 1/8, gpus 1/4 on 2 nodes", manager.Describe());
        Assert.Equal([0, 0, 0, 0], before); // a published list never changes
        manager.Release(grant);
        Assert.Equal(0, manager.DeviceUse.Sum());
        Assert.Equal(1, manager.PeakCpusUsed);
        Assert.Equal("cpus 0/8, gpus 0/4 on 2 nodes", manager.Describe());
    }

    [Fact]
    public void Fits_FullClusterAskedAgain_StillNo_ThenYesAfterAReleaseOrANodeJoins()
    {
        var manager = new ResourceManager([new NodeInfo("a", new NodeResources(4, 1, 1L << 30))]);
        var one = new ResourceRequest(0, 1);
        var grant = manager.TryAcquire(one)!;
        Assert.False(manager.Fits(one));
        Assert.False(manager.Fits(new ResourceRequest(0, 1)));
        Assert.True(manager.Fits(new ResourceRequest(1, 0))); // another request is not answered from the last one

        manager.Release(grant);
        Assert.True(manager.Fits(one));
        manager.TryAcquire(one);
        Assert.False(manager.Fits(one));

        manager.AddNode(new NodeInfo("b", new NodeResources(4, 1, 1L << 30)));
        Assert.True(manager.Fits(one));
        Assert.Equal(2, manager.TotalGpus);
    }

    [Fact]
    public void Sync_NewListWithANodeMoreOrLess_AddsAndDropsIt_TheSameListAgainChangesNothing()
    {
        var a = new NodeInfo("a", new NodeResources(4, 1, 1L << 30));
        var b = new NodeInfo("b", new NodeResources(4, 1, 1L << 30));
        var manager = new ResourceManager([a]);
        IReadOnlyList<NodeInfo> both = [a, b];

        manager.Sync(both);
        Assert.Equal(["a", "b"], manager.Nodes.Select(n => n.Id));
        manager.Sync(both);
        Assert.Equal(2, manager.Nodes.Count);

        manager.Sync([b]);
        Assert.Equal(["b"], manager.Nodes.Select(n => n.Id));
        Assert.Equal(1, manager.TotalGpus);
    }
}
