using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Execution.Simulation;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A real worker process killed outright (as <c>kill -9</c>) under a real redis-server: the runtime
/// raises the exceptions the executor recovers from. Its own cluster, since it kills a worker.
/// </summary>
public sealed class NodeLossTests
{
    [Fact]
    public async Task WorkerKilled_InFlightActorCallAndItsBlocks_RaiseActorLostAndBlockLost()
    {
        using var redis = await RedisServer.StartAsync();
        var tag = Guid.NewGuid().ToString("N")[..6];
        using var doomed = await WorkerProcess.StartAsync(redis.Uri, $"doomed-{tag}", "--cpus", "2", "--sim-gpus", "1", "--fast-failure-detection");
        await using var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{tag}", FastFailureDetection = true });
        await runtime.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
        var left = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.NodeLeft += n => left.TrySetResult(n.Id);
        var input = runtime.Put(new Block(Ints(1, 2, 3), new BlockLineage(0, "t", 0, 0)));
        var quick = await StartAsync(runtime, doomed.NodeId, "quick", fixedMs: 1);
        var kept = await quick.RunAsync(input, CancellationToken.None);
        var slow = await StartAsync(runtime, doomed.NodeId, "slow", fixedMs: 60_000);
        var inFlight = slow.RunAsync(input, CancellationToken.None);
        await Task.Delay(500);

        doomed.Kill();

        // 30 s is a hang guard, far below the 10-minute response timeout: an ActorLostException within it can only
        // come from failure detection. How fast detection is (~1 s on loopback, DESIGN.md §6) is not asserted here.
        var lost = await Assert.ThrowsAsync<ActorLostException>(() => inFlight.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"stage 'slow' actor 0", lost.Message);
        Assert.Contains($"node '{doomed.NodeId}'", lost.Message);
        Assert.Equal(doomed.NodeId, await left.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        var blockLost = await Assert.ThrowsAsync<BlockLostException>(async () => await runtime.GetAsync(kept, CancellationToken.None));
        Assert.Equal(kept, blockLost.Block);
        await Assert.ThrowsAsync<ActorLostException>(() => StartAsync(runtime, doomed.NodeId, "again", fixedMs: 1));
        Assert.DoesNotContain(runtime.Nodes, n => n.Id == doomed.NodeId);
    }

    private static Task<IActorHandle> StartAsync(OrleansWorkerRuntime runtime, string node, string stage, double fixedMs)
    {
        var options = new SimulateOptions(FixedMs: fixedMs, PerRowMs: 0);
        var spec = new ActorSpec(stage, 0, () => new SimulateProcessor(options), new ProcessorContext(stage, 0, new ResourceRequest(Gpus: 1), [0]), null,
            ProcessorDescriptor.Of<SimulateProcessor, SimulateOptions>(options), node);
        return runtime.StartActorAsync(spec, CancellationToken.None);
    }

    private static RecordBatch Ints(params long[] values) =>
        new(new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default)).Build(), [new Int64Array.Builder().AppendRange(values).Build()], values.Length);
}
