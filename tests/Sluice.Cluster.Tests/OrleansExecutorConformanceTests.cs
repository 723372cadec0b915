using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;
using Sluice.Tests.Shared;

namespace Sluice.Cluster.Tests;

/// <summary>
/// The executor conformance suite on the Orleans runtime: a real redis-server, two real worker
/// processes (2 cpus, 2 simulated GPUs each), the driver's silo in this process. Actors run on the
/// workers only: the driver offers no resources to actors.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OrleansExecutorConformanceTests(ClusterFixture cluster) : ExecutorConformance
{
    protected override ExecutionOptions Options() => new() { Runtime = cluster.Runtime };

    protected override IReadOnlySet<int> ActorProcesses => cluster.Workers.Select(w => w.Pid).ToHashSet();

    /// <summary>Worker nodes build processors by type name; a lambda exists only in the driver.</summary>
    protected override bool RunsProcessorsMadeByLambdas => false;

    /// <summary>DESIGN.md §6: "a plan that needs [a lambda] on a cluster is refused before it starts, with the reason".</summary>
    [Fact]
    public async Task WriteAsync_ProcessorMadeByLambda_IsRefusedBeforeTheOutputIsOpened()
    {
        var ds = Dataset.Range(1_000, new ReadOptions { BlockRows = 100 })
            .MapBatches(() => new AnnotateProcessor(), "lambda", new MapBatchesOptions { Name = "lambda_stage", Resources = new ResourceRequest(Cpus: 1) });
        var sink = new CollectingSink();

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => ds.WriteAsync(sink, Options()).WaitAsync(Limit));

        Assert.Contains("the job cannot start", e.Message);
        Assert.Contains("stage 'lambda_stage'", e.Message);
        Assert.Contains("made by a lambda", e.Message);
        Assert.False(sink.Opened, "the output was opened before the job was refused");
    }
}
