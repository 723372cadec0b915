using Sluice.Cluster.Hosting;
using Sluice.Execution;

namespace Sluice.Cluster.Tests.Autoscaling;

/// <summary>A worker's group travels in its silo metadata, so the driver's autoscaler knows whose worker it is.</summary>
public sealed class NodeGroupTests
{
    [Fact]
    public void Read_MetadataWithAGroup_NodeInfoCarriesIt()
    {
        var node = NodeMetadata.Read(NodeMetadata.Of("gpu-1-abc", new NodeResources(1, 1, 1L << 30), "gpu"));
        Assert.Equal("gpu", node!.Group);
        Assert.Null(NodeMetadata.Read(NodeMetadata.Of("w0", new NodeResources(1, 0, 1L << 30)))!.Group);
    }

    [Theory]
    [InlineData("gpu", true)]
    [InlineData("gpu-a100", true)]
    [InlineData("", false)]
    [InlineData("gpu group", false)]
    public void Validate_Group_LettersDigitsAndDashOnly(string group, bool valid)
    {
        var problems = new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Group = group }.Validate(new NodeResources(4, 0, 8L << 30), podIp: null);
        Assert.Equal(valid, !problems.Any(p => p.StartsWith("--group", StringComparison.Ordinal)));
    }
}
