using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Cluster.Blocks;
using Sluice.Cluster.Hosting;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Execution.Simulation;

namespace Sluice.Cluster.Tests;

/// <summary>Block ids are random 128-bit values, and a node serves a block only to the job (driver run) that made it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BlockOwnershipTests(ClusterFixture cluster)
{
    private static Block Small(string name) =>
        new(new RecordBatch(new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default)).Build(),
            [new Int64Array.Builder().AppendRange([1, 2, 3]).Build()], 3), new BlockLineage(0, name, 0, 0));

    [Fact]
    public void Serves_BlockKeptForAJob_OnlyThatJob()
    {
        var node = new ClusterNode("w", new NodeResources(1, 0, 1L << 30), 1 << 20, new ProcessorRegistry());

        var kept = node.Keep(Small("a"), "job-a");

        Assert.True(node.Serves(kept.Id, "job-a"));
        Assert.False(node.Serves(kept.Id, "job-b"));
    }

    [Fact]
    public void Put_TwoBlocks_IdsAreRandomNotASequence()
    {
        var node = new ClusterNode("w", new NodeResources(1, 0, 1L << 30), 1 << 20, new ProcessorRegistry());

        var ids = Enumerable.Range(0, 3).Select(i => node.Local.Put(Small($"b{i}")).Id).ToList();

        Assert.Equal(3, ids.Distinct().Count());
        // Random 128-bit values: no two share a half (a counter would differ only in its low bytes).
        Assert.Equal(3, ids.Select(id => id.ToByteArray()[..8]).Select(Convert.ToHexString).Distinct().Count());
        Assert.Equal(3, ids.Select(id => id.ToByteArray()[8..]).Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public async Task GetAsync_BlockOfAnotherJob_RefusedOnWorkerAndDriver()
    {
        var runtime = cluster.Runtime;
        var worker = cluster.Workers[0].NodeId;
        var input = runtime.Put(Small("owned"));
        var spec = new ActorSpec("annotate", 0, () => new AnnotateProcessor(), new ProcessorContext("annotate", 0, new ResourceRequest(Cpus: 1), []), null,
            ProcessorDescriptor.Of<AnnotateProcessor>(), worker);
        await using var actor = await runtime.StartActorAsync(spec, CancellationToken.None);
        var output = await actor.RunAsync(input, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));
        // Another driver on the same cluster: another job.
        await using var other = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = cluster.RedisUri, NodeId = $"other-{Guid.NewGuid():N}"[..14] });

        var onWorker = await Assert.ThrowsAsync<SluiceException>(async () => await other.GetAsync(output, CancellationToken.None));
        var onDriver = await Assert.ThrowsAsync<SluiceException>(async () => await other.GetAsync(input, CancellationToken.None));
        // Nor may another job free it: the owner still reads it whole afterwards.
        await other.Grains.GetGrain<IBlockStoreGrain>(worker).FreeAsync(other.Job, output.Id);
        var back = await runtime.GetAsync(output, CancellationToken.None);

        Assert.Equal($"block {output.Id} on node {worker} belongs to another job than {other.Job}: refused", onWorker.Message);
        Assert.Equal($"block {input.Id} on node {runtime.NodeId} belongs to another job than {other.Job}: refused", onDriver.Message);
        Assert.Equal(3, back.Rows);
        runtime.Free(input);
        runtime.Free(output);
    }
}
