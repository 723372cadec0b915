using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Execution.Simulation;

namespace Sluice.Cluster.Tests;

/// <summary>Blocks crossing real processes: a block larger than one 8 MiB chunk travels intact both ways.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BlockTransferTests(ClusterFixture cluster)
{
    [Fact]
    public async Task ActorOnWorker_BlockOfSeveralChunks_FetchedThereAndBackIntact()
    {
        var runtime = cluster.Runtime;
        const int Rows = 3_000_000; // 24 MiB of int64: three chunks at least
        var values = new long[Rows];
        for (var i = 0; i < Rows; i++) values[i] = i * 7L - 5;
        var column = new Int64Array.Builder().AppendRange(values).Build();
        var batch = new RecordBatch(new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default)).Build(), [column], Rows);
        var input = runtime.Put(new Block(batch, new BlockLineage(0, "big", 0, 0)));
        var worker = cluster.Workers[0].NodeId;
        var spec = new ActorSpec("annotate", 0, () => new AnnotateProcessor(), new ProcessorContext("annotate", 0, new ResourceRequest(Cpus: 1), []), null,
            ProcessorDescriptor.Of<AnnotateProcessor>(), worker);
        var fetchedBefore = runtime.BytesFetched;

        await using var actor = await runtime.StartActorAsync(spec, CancellationToken.None);
        var output = await actor.RunAsync(input, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        var back = await runtime.GetAsync(output, CancellationToken.None);

        Assert.Equal(worker, output.Node);
        Assert.Equal(Rows, back.Rows);
        Assert.Equal(values, ((Int64Array)back.Batch.Column("id")).Values.ToArray());
        Assert.All(((Int32Array)back.Batch.Column("pid")).Values.ToArray(), p => Assert.Equal(cluster.Workers[0].Pid, p));
        Assert.Equal(input.Lineage, back.Lineage);
        Assert.True(runtime.BytesFetched - fetchedBefore > 16 << 20, $"fetched {runtime.BytesFetched - fetchedBefore} bytes");
        Assert.True(await runtime.BytesMovedAsync() >= 2L * (24 << 20), "the worker fetched the input and the driver the output");
        runtime.Free(input);
        runtime.Free(output);
    }

    [Fact]
    public async Task ActorOnWorker_SimulateProcessor_RunsOnTheWorkersOwnSimulatedDevices()
    {
        var runtime = cluster.Runtime;
        var worker = cluster.Workers[1].NodeId;
        var batch = new RecordBatch(new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default)).Build(),
            [new Int64Array.Builder().AppendRange([1, 2, 3]).Build()], 3);
        var input = runtime.Put(new Block(batch, new BlockLineage(0, "small", 0, 0)));
        // The driver has no simulated devices (Simulated: null): the worker must supply its own.
        var context = new ProcessorContext("model", 0, new ResourceRequest(Gpus: 1), [1], Simulated: null);
        var spec = new ActorSpec("model", 0, () => new SimulateProcessor(new SimulateOptions(FixedMs: 1)), context, null,
            ProcessorDescriptor.Of<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 1)), worker);

        await using var actor = await runtime.StartActorAsync(spec, CancellationToken.None);
        var output = await actor.RunAsync(input, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(worker, output.Node);
        var back = await runtime.GetAsync(output, CancellationToken.None);
        Assert.Equal([1L, 2L, 3L], ((Int64Array)back.Batch.Column("id")).Values.ToArray());
        runtime.Free(input);
        runtime.Free(output);
    }
}
