using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Execution.Simulation;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A worker builds only the processor types registered with it. The attack this guards against: any process
/// that joins the cluster (here the test's own silo) asks a worker's actor grain to "initialize" a type it
/// names, with options it chooses; before the registry, the worker called that type's constructor, and
/// <c>new StreamWriter(path)</c> truncated the file before the cast to <see cref="IBatchProcessor"/> failed.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RegisteredTypesTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task StartActor_StreamWriterNamedOverTheWire_RefusedAndTheFileIsUntouched()
    {
        var dir = Directory.CreateTempSubdirectory("sluice-victim-").FullName;
        var victim = Path.Combine(dir, "victim.txt");
        const string Content = "committed data that must survive";
        await File.WriteAllTextAsync(victim, Content);
        try
        {
            var descriptor = new ProcessorDescriptor(typeof(StreamWriter).AssemblyQualifiedName!, typeof(string).AssemblyQualifiedName, $"\"{victim}\"");
            var spec = new ActorSpec("attack", 0, () => throw new InvalidOperationException("the driver never builds it"),
                new ProcessorContext("attack", 0, new ResourceRequest(Cpus: 1), []), null, descriptor, cluster.Workers[0].NodeId);

            var e = await Assert.ThrowsAnyAsync<SluiceException>(() => cluster.Runtime.StartActorAsync(spec, CancellationToken.None).WaitAsync(Limit));

            Assert.Contains("'System.IO.StreamWriter' is not registered on this node", e.Message);
            Assert.Contains("--ops-assembly", e.Message);
            Assert.Equal(Content, await File.ReadAllTextAsync(victim));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task StartActor_RegisteredTypeWithOtherOptionsType_Refused()
    {
        // A registered processor, but options of another type: they would bind to a constructor nobody chose.
        var descriptor = new ProcessorDescriptor(typeof(AnnotateProcessor).AssemblyQualifiedName!, typeof(string).AssemblyQualifiedName, "\"x\"");
        var spec = new ActorSpec("odd", 0, () => new AnnotateProcessor(),
            new ProcessorContext("odd", 0, new ResourceRequest(Cpus: 1), []), null, descriptor, cluster.Workers[1].NodeId);

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => cluster.Runtime.StartActorAsync(spec, CancellationToken.None).WaitAsync(Limit));

        Assert.Contains("takes no options", e.Message);
    }

    [Fact]
    public async Task StartActor_RegisteredType_RunsOnTheWorker()
    {
        var runtime = cluster.Runtime;
        var worker = cluster.Workers[1];
        var batch = new RecordBatch(new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default)).Build(),
            [new Int64Array.Builder().AppendRange([1, 2, 3]).Build()], 3);
        var input = runtime.Put(new Block(batch, new BlockLineage(0, "registered", 0, 0)));
        var spec = new ActorSpec("annotate", 0, () => new AnnotateProcessor(), new ProcessorContext("annotate", 0, new ResourceRequest(Cpus: 1), []), null,
            ProcessorDescriptor.Of<AnnotateProcessor>(), worker.NodeId);

        await using var actor = await runtime.StartActorAsync(spec, CancellationToken.None).WaitAsync(Limit);
        var output = await actor.RunAsync(input, CancellationToken.None).WaitAsync(Limit);
        var back = await runtime.GetAsync(output, CancellationToken.None);

        Assert.Equal(worker.NodeId, output.Node);
        Assert.All(((Int32Array)back.Batch.Column("pid")).Values.ToArray(), p => Assert.Equal(worker.Pid, p));
        runtime.Free(input);
        runtime.Free(output);
    }
}
