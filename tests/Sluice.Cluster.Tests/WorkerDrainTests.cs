using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A worker asked to leave (SIGTERM) in the middle of a job on a real cluster: it drains first — its actors take no new
/// task, the tasks they hold finish, its store serves its blocks until consumed — then leaves on its own with exit code 0.
/// Nothing is lost: no block is recomputed, and the output holds every row exactly once.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class WorkerDrainTests(ITestOutputHelper output)
{
    private const long Rows = 8000;
    private const int BlockRows = 100;

    /// <summary>The workers' default drain timeout (<see cref="ClusterNodeOptions.DrainTimeout"/>).</summary>
    private static readonly TimeSpan DrainTimeout = new ClusterNodeOptions { Redis = "redis://127.0.0.1:1" }.DrainTimeout;

    [Fact]
    public async Task WorkerTerminatedMidJob_DrainsThenLeaves_NoBlockLost_OutputHasEveryRowExactlyOnce()
    {
        // The kill test's cluster and job: 3 workers x (1 cpu, 2 simulated GPUs); w0 gets two model actors and the first annotate actor.
        await using var cluster = await OwnCluster.StartAsync(3, "--cpus", "1", "--sim-gpus", "2", "--memory", "2GiB");
        var leaving = cluster.Workers[0];
        var left = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Runtime.NodeLeft += n => { if (n.Id == leaving.NodeId) left.TrySetResult(n.Id); };
        var dir = SimulatedJob.TempDir("drain");
        var log = new CollectingLogger();
        try
        {
            var sink = new GatedSink(Sinks.Parquet(dir));
            var job = JobExecution.Start(SimulatedJob.Build(Rows, BlockRows, perRowMs: 5, new PoolSize(1, 4), new PoolSize(1, 2)), sink,
                new ExecutionOptions { Runtime = cluster.Runtime, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
            string Context() => $"{Environment.NewLine}snapshot: {JobOutput.Describe(job.Snapshot)}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}";

            // Hold the sink so that blocks queue for it, some of them in w0's store: the drain must serve them before leaving.
            var (atLeave, clock) = await SinkBacklog.BuildAsync(job, sink, Context);
            var leftAt = clock.Elapsed;
            leaving.Terminate();
            await Task.Delay(500);
            sink.Open();

            var exit = leaving.WaitForExitAsync(DrainTimeout + TimeSpan.FromSeconds(20));
            try
            {
                await job.Completion.WaitAsync(TimeSpan.FromMinutes(3));
            }
            catch (TimeoutException)
            {
                Assert.Fail($"the job did not end within 3 minutes of the SIGTERM{Context()}");
            }
            catch (Exception e)
            {
                Assert.Fail($"the job failed after the SIGTERM: {e}{Context()}");
            }
            var final = await job.Completion;
            var exitCode = await exit;
            var detail = $"{Environment.NewLine}SIGTERM to {leaving.NodeId} at {leftAt.TotalSeconds:F1} s with {SinkBacklog.Written(atLeave)} blocks written and {SinkBacklog.Queued(atLeave)} queued for the sink; " +
                $"final {JobOutput.Describe(final)}executor log:{Environment.NewLine}{log.Tail(120)}{Environment.NewLine}{cluster.WorkerOutput()}";

            var dropped = log.Lines.Where(l => l.Contains($"lost with node {leaving.NodeId}", StringComparison.Ordinal)).ToList();
            var replayed = log.Lines.Where(l => l.Contains("input block lost", StringComparison.Ordinal)).ToList();
            var drainLog = leaving.Output.Split(Environment.NewLine).Where(l => l.Contains("drain", StringComparison.Ordinal) || l.Contains("leav", StringComparison.Ordinal));
            output.WriteLine($"actors dropped for {leaving.NodeId}: {dropped.Count}; blocks recomputed: {replayed.Count}; exit code {exitCode?.ToString() ?? "none (still running)"}");
            output.WriteLine(string.Join(Environment.NewLine, drainLog));
            output.WriteLine(string.Join(Environment.NewLine, dropped));

            // Every row exactly once.
            var rows = await JobOutput.ReadSortedAsync(dir, "pid");
            var ids = rows.Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, (int)Rows).Select(i => (long)i)), $"output ids are not 0..{Rows - 1} exactly once: {JobOutput.Diff(ids, Rows)}{detail}");
            Assert.True(File.Exists(Path.Combine(dir, "_SUCCESS")), $"no _SUCCESS marker{detail}");

            // The worker left on its own, cleanly, within its drain timeout; the cluster saw it go.
            Assert.True(exitCode == 0, $"worker {leaving.NodeId} exit code {exitCode?.ToString() ?? "none: still running"} (0 wanted, within {DrainTimeout.TotalSeconds:0} s + 20 s){detail}");
            Assert.Equal(leaving.NodeId, await left.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(leaving.Output.Split(Environment.NewLine), l => l.Contains("draining before leaving", StringComparison.Ordinal));
            Assert.Contains(leaving.Output.Split(Environment.NewLine), l => l.Contains("drained in", StringComparison.Ordinal));

            // Nothing was lost: no block recomputed; the draining node's actors were dropped and their tasks ran elsewhere.
            Assert.True(replayed.Count == 0, $"blocks were recomputed after a graceful leave:{Environment.NewLine}{string.Join(Environment.NewLine, replayed)}{detail}");
            Assert.True(dropped.Count >= 1, $"no actor was dropped for the draining node {leaving.NodeId}{detail}");
            var pids = await JobOutput.DistinctInt32Async(dir, "pid");
            var workerPids = cluster.Workers.Select(w => w.Pid).ToHashSet();
            Assert.True(pids.IsSubsetOf(workerPids), $"pids in the output [{string.Join(", ", pids)}] are not all worker pids{detail}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }


}
