using Sluice.Contracts;
using Sluice.Execution.Budget;

namespace Sluice.Execution.Tests;

public class ResourceManagerTests
{
    private static readonly double[] GpuChoices = [0, 0.25, 0.5, 1, 2];
    private static readonly double[] CpuChoices = [0, 0.5, 1, 2];

    /// <summary>Property: whatever the node and the sequence of requests and releases, nothing is over-committed,
    /// whole-GPU grants get distinct devices no one else holds, and releasing everything frees everything.</summary>
    [Fact]
    public void TryAcquire_RandomRequestsAndReleases_NeverOverCommits()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var node = new NodeResources(random.Next(1, 9), random.Next(0, 9), 1L << 30);
            var manager = new ResourceManager(node);
            var held = new List<ResourceGrant>();
            for (var step = 0; step < 200; step++)
            {
                if (held.Count > 0 && random.NextDouble() < 0.4)
                {
                    var i = random.Next(held.Count);
                    manager.Release(held[i]);
                    held.RemoveAt(i);
                }
                else
                {
                    var request = new ResourceRequest(CpuChoices[random.Next(CpuChoices.Length)], GpuChoices[random.Next(GpuChoices.Length)], random.Next(0, 3) << 28);
                    var fits = manager.Fits(request);
                    var grant = manager.TryAcquire(request);
                    Assert.Equal(fits, grant is not null);
                    if (grant is null) continue;
                    Assert.Equal(request.Gpus switch { 0 => 0, < 1 => 1, _ => (int)request.Gpus }, grant.GpuIds.Count);
                    Assert.Equal(grant.GpuIds.Count, grant.GpuIds.Distinct().Count());
                    held.Add(grant);
                }
                Assert.True(manager.CpusUsed <= node.Cpus + 1e-9, $"seed {seed}: cpus {manager.CpusUsed} > {node.Cpus}");
                Assert.True(manager.MemoryUsed <= node.MemoryBytes);
                Assert.All(manager.DeviceUse, u => Assert.True(u <= 1 + 1e-9, $"seed {seed}: a device is {u:0.##} allocated"));
                // Recompute each device's use from the grants: the manager's books must match them.
                for (var d = 0; d < node.GpuCount; d++)
                {
                    var fromGrants = held.Where(g => g.GpuIds.Contains(d)).Sum(g => g.Request.Gpus >= 1 ? 1 : g.Request.Gpus);
                    Assert.Equal(fromGrants, manager.DeviceUse[d], 9);
                }
            }
            foreach (var g in held) manager.Release(g);
            Assert.Equal(0, manager.CpusUsed, 9);
            Assert.All(manager.DeviceUse, u => Assert.Equal(0, u, 9));
        }
    }

    [Fact]
    public void TryAcquire_Fractions_PackOntoOneDeviceAndKeepOthersWhole()
    {
        var manager = new ResourceManager(new NodeResources(8, 2, 1L << 30));
        var a = manager.TryAcquire(new ResourceRequest(Gpus: 0.5))!;
        var b = manager.TryAcquire(new ResourceRequest(Gpus: 0.25))!;
        Assert.Equal(a.GpuIds, b.GpuIds);
        var whole = manager.TryAcquire(new ResourceRequest(Gpus: 1))!;
        Assert.NotEqual(a.GpuIds[0], whole.GpuIds[0]);
        Assert.Null(manager.TryAcquire(new ResourceRequest(Gpus: 0.5)));
        Assert.NotNull(manager.TryAcquire(new ResourceRequest(Gpus: 0.25)));
    }
}
