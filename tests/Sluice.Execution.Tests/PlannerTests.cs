using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Planning;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>The planner's fusion rules, read off the physical plan: which stages share an operator and which get their own.</summary>
public sealed class PlannerTests
{
    private static readonly NodeResources FourCpus = new(4, 0, 1L << 30);

    private static Func<RecordBatch, RecordBatch> AddColumn(string name, string from, long plus) => batch =>
    {
        var source = (Int64Array)batch.Column(from);
        var b = new Int64Array.Builder();
        for (var i = 0; i < source.Length; i++) b.Append(source.GetValue(i)!.Value + plus);
        return ArrowBatches.WithColumn(batch, new Field(name, Int64Type.Default, false), b.Build());
    };

    private static PhysicalPlan Plan(Dataset ds, Datasink? sink = null, NodeResources? node = null) =>
        Planner.Plan(ds.Plan, sink, node ?? FourCpus);

    [Fact]
    public void Plan_StatelessMapsWithoutResources_FuseIntoTheReadInOrder()
    {
        var ds = Dataset.Range(100, new ReadOptions { BlockRows = 10 })
            .MapBatches(AddColumn("x", "id", 1), new MapBatchesOptions { Name = "prep" })
            .MapBatches(AddColumn("y", "x", 10), new MapBatchesOptions { Name = "tag", Resources = ResourceRequest.None });

        var plan = Plan(ds, new MemorySink());

        Assert.Collection(plan.Operators,
            op =>
            {
                var read = Assert.IsType<SourceSpec>(op);
                Assert.Equal(["prep", "tag"], read.FusedNames);
                Assert.Equal("Read[range(100)]->prep->tag", read.Name);
                Assert.NotNull(read.Fused);
            },
            op => Assert.IsType<SinkSpec>(op));
    }

    [Fact]
    public async Task Plan_FusedMaps_RunOnTheReadTaskInTheirOrder()
    {
        var ds = Dataset.Range(100).MapBatches(AddColumn("x", "id", 1), new MapBatchesOptions { Name = "prep" })
            .MapBatches(AddColumn("y", "x", 10), new MapBatchesOptions { Name = "tag" }); // reads "x": fails unless prep ran first
        var read = Assert.IsType<SourceSpec>(Plan(ds).Operators.Single());
        var input = new Block(Rows.ToBatch([new Dictionary<string, object?> { ["id"] = 5L }]), new BlockLineage(0, "t", 0, 0));

        var output = await read.Fused!(input, CancellationToken.None);

        Assert.Equal(["id", "x", "y"], output.Batch.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal(16L, ((Int64Array)output.Batch.Column("y")).GetValue(0));
    }

    [Fact]
    public void Plan_MapAskingForResources_GetsItsOwnTaskPool_AndAPlainMapAfterItFusesIntoThatPool()
    {
        var ds = Dataset.Range(100)
            .MapBatches(b => b, new MapBatchesOptions { Name = "decode", Resources = new ResourceRequest(Cpus: 0.5) })
            .MapBatches(b => b, new MapBatchesOptions { Name = "resize" });

        var plan = Plan(ds);

        Assert.Collection(plan.Operators,
            op => Assert.Empty(Assert.IsType<SourceSpec>(op).FusedNames),
            op =>
            {
                var pool = Assert.IsType<TaskMapSpec>(op);
                Assert.Equal("decode->resize", pool.Name);
                Assert.Equal(new ResourceRequest(Cpus: 0.5), pool.Resources);
                Assert.Equal(4, pool.Concurrency);
            });
    }

    [Fact]
    public void Plan_MapWithAnotherConcurrency_IsNotFusedIntoTheTaskPoolBeforeIt()
    {
        var ds = Dataset.Range(100)
            .MapBatches(b => b, new MapBatchesOptions { Name = "decode", Resources = new ResourceRequest(Cpus: 0.5) })
            .MapBatches(b => b, new MapBatchesOptions { Name = "upload", Concurrency = 2 });

        var plan = Plan(ds);

        Assert.Equal(["Read[range(100)]", "decode", "upload"], plan.Operators.Select(o => o.Name));
        Assert.Equal([4, 2], plan.Operators.OfType<TaskMapSpec>().Select(t => t.Concurrency));
    }

    /// <summary>A stage's resource request must survive planning: fusing it into a pool that asks for less would drop it.</summary>
    [Fact]
    public void Plan_MapWithOtherResources_IsNotFusedIntoTheTaskPoolBeforeIt()
    {
        var ds = Dataset.Range(100)
            .MapBatches(b => b, new MapBatchesOptions { Name = "decode", Resources = new ResourceRequest(Cpus: 0.5) })
            .MapBatches(b => b, new MapBatchesOptions { Name = "gpu_resize", Resources = new ResourceRequest(Gpus: 1) });

        var plan = Plan(ds, node: new NodeResources(4, 1, 1L << 30));

        Assert.Equal(["Read[range(100)]", "decode", "gpu_resize"], plan.Operators.Select(o => o.Name));
        Assert.Equal([new ResourceRequest(Cpus: 0.5), new ResourceRequest(Gpus: 1)], plan.Operators.OfType<TaskMapSpec>().Select(t => t.Resources));
    }

    [Fact]
    public void Plan_ProcessorStages_GetActorPoolsAndNothingFusesIntoOrAcrossThem()
    {
        var ds = Dataset.Range(100)
            .MapBatches(b => b, new MapBatchesOptions { Name = "prep" })
            .MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "embed", Pool = new PoolSize(1, 3) })
            .MapBatches(b => b, new MapBatchesOptions { Name = "post" })
            .MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "rank", Resources = new ResourceRequest(Gpus: 1) });

        var plan = Plan(ds, new MemorySink());

        Assert.Equal(["Read[range(100)]->prep", "embed", "post", "rank", "Write[memory]"], plan.Operators.Select(o => o.Name));
        Assert.Equal([typeof(SourceSpec), typeof(ActorMapSpec), typeof(TaskMapSpec), typeof(ActorMapSpec), typeof(SinkSpec)], plan.Operators.Select(o => o.GetType()));
        var pools = plan.Operators.OfType<ActorMapSpec>().ToList();
        Assert.Equal([ResourceRequest.OneCpu, new ResourceRequest(Gpus: 1)], pools.Select(p => p.Resources)); // a processor holds one cpu unless told
        Assert.Equal(new PoolSize(1, 3), pools[0].Options.Pool);
        Assert.NotNull(pools[0].Descriptor); // a processor type: any node can build it
    }

    [Fact]
    public void Plan_ReadAndWrite_RunAsManyTasksAsWholeCoresUnlessTheReadSaysOtherwise()
    {
        var node = new NodeResources(2.5, 0, 1L << 30);

        var byCores = Plan(Dataset.Range(100), new MemorySink(), node);
        var bySpec = Plan(Dataset.Range(100, new ReadOptions { Parallelism = 7 }), null, node);

        Assert.Equal(2, Assert.IsType<SourceSpec>(byCores.Operators[0]).Parallelism);
        Assert.Equal(2, Assert.IsType<SinkSpec>(byCores.Operators[1]).Concurrency);
        Assert.Equal(7, Assert.IsType<SourceSpec>(Assert.Single(bySpec.Operators)).Parallelism);
    }
}
