using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Pools;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Tests;

/// <summary>
/// A cluster that may grow (an autoscaler runs): a pool with no node for its actors waits and reports its unmet
/// demand instead of failing, then scales onto a node as soon as one joins. Stepped on a fake clock.
/// </summary>
public sealed class GrowingCapacityTests
{
    private static readonly NodeResources Worker = new(2, 0, 1L << 30);

    [Fact]
    public async Task StepAsync_NoNodeFitsAtStartAndCapacityMayGrow_ReportsUnmetThenScalesOntoAJoinedNode()
    {
        var clock = new FakeTimeProvider();
        var runtime = new GrowingRuntime();
        var source = new GatedSource(before: 8, after: 0, rows: 10);
        source.Gate.SetResult();
        var ds = Dataset.Read(source).MapBatches(() => new Passthrough(), "pass",
            new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();
        await using var _ = runtime;
        var executor = new StreamingExecutor(ds.Plan, sink, new ExecutionOptions { Runtime = runtime, TimeProvider = clock, MayAdd = [Worker] }, collectOutput: false);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);

        // No node offers a core: the pool holds no actor and says what it wants.
        for (var i = 0; i < 20 && !Unmet(executor).Any(); i++)
        {
            Assert.True(await executor.StepAsync(stop.Token));
            clock.Advance(TimeSpan.FromMilliseconds(500));
        }
        var unmet = Assert.Single(Unmet(executor));
        Assert.Equal(new ActorDemand("model", new ResourceRequest(Cpus: 1), unmet.Actors), unmet);
        Assert.InRange(unmet.Actors, 1, 2);
        Assert.Equal(0, Model(executor).ActorsReady + Model(executor).ActorsStarting);
        Assert.Empty(executor.Snapshot.ActorsPerNode);

        runtime.Join(new NodeInfo("w1", Worker) { Group = "cpu" });
        // The loop's tick syncs the nodes; the pool then starts its actors on the new node.
        var turns = 0;
        while (await executor.StepAsync(stop.Token))
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            Assert.True(++turns < 2000, "the job did not finish after a node joined");
        }
        await executor.ShutdownAsync(stop, failure: null);

        Assert.Equal(80, sink.Rows);
        Assert.Equal(Enumerable.Range(0, 80).Select(i => (long)i), sink.Ids.Order());
        Assert.True(Model(executor).ActorsStarted >= 1);
        Assert.Empty(Unmet(executor));
    }

    [Fact]
    public async Task PrepareAsync_MinDoesNotFitAndCapacityIsFixed_Refused()
    {
        var runtime = new GrowingRuntime();
        await using var _ = runtime;
        var ds = Dataset.Read(new GatedSource(before: 1, after: 0, rows: 10)).MapBatches(() => new Passthrough(), "pass",
            new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Cpus: 1) });
        var executor = new StreamingExecutor(ds.Plan, new MemorySink(), new ExecutionOptions { Runtime = runtime }, collectOutput: false);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var e = await Assert.ThrowsAsync<SluiceException>(() => executor.PrepareAsync(executor.Begin(), stop.Token));
        Assert.Contains("pool.min 1", e.Message, StringComparison.Ordinal);
        await executor.ShutdownAsync(stop, e);
    }

    [Fact]
    public void DecideUp_NoActorAndOneQueuedBlock_WantsOne()
    {
        var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(0, 4), MaxConcurrency = 4 }, ResourceRequest.OneCpu, DispatchPolicy.MostRecentlyUsed);
        var up = pool.DecideUp(queuedBlocks: 1, upstreamActive: true, target: 4);
        Assert.Equal(1, up.Delta);
    }

    private static IReadOnlyList<ActorDemand> Unmet(StreamingExecutor executor) => executor.Snapshot.Unmet;

    private static OperatorSnapshot Model(StreamingExecutor executor) => executor.Snapshot.Operators.Single(o => o.Name == "model");

    private sealed class Passthrough : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<Apache.Arrow.RecordBatch> ProcessAsync(Apache.Arrow.RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
