using System.Diagnostics;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A cancelled job stops its workers' model runs: the cancellation travels with the grain call to the node.
/// Seen through the worker's one simulated device, which admits one batch at a time: a batch of the cancelled
/// job that kept running would hold it for ten minutes, and the next job's batch would wait behind it.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class RemoteCancelTests
{
    [Fact]
    public async Task CancelJob_BatchRunningOnAWorker_StopsThereAndFreesItsDevice()
    {
        await using var cluster = await OwnCluster.StartAsync(1, "--cpus", "1", "--sim-gpus", "1", "--memory", "2GiB");
        using var cancel = new CancellationTokenSource();
        var endless = Dataset.Range(100, new ReadOptions { BlockRows = 100 }, tasks: 1)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 600_000, PerRowMs: 0),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1) });
        var job = JobExecution.Start(endless, new NullSink(), new ExecutionOptions { Runtime = cluster.Runtime }, cancel.Token);
        var clock = Stopwatch.StartNew();
        while (job.Snapshot.Operators.SingleOrDefault(o => o.Name == "model")?.TasksRunning is not > 0)
        {
            if (job.Completion.IsCompleted || clock.Elapsed > TimeSpan.FromSeconds(60))
                Assert.Fail($"the ten-minute batch never started: {job.Completion.Exception?.InnerException}{cluster.WorkerOutput()}");
            await Task.Delay(20);
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.Completion.WaitAsync(TimeSpan.FromSeconds(60)));

        // The same device, the next job: it runs at once only if the cancelled batch let go of the device.
        var quick = Dataset.Range(100, new ReadOptions { BlockRows = 100 }, tasks: 1)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 1, PerRowMs: 0),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1) });
        var rows = await quick.CountAsync(new ExecutionOptions { Runtime = cluster.Runtime }).WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(100, rows);
    }

    private sealed class NullSink : Datasink
    {
        public override string Name => "null";

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask WriteAsync(Sluice.Blocks.Block block, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
