using Xunit.Abstractions;
using System.Diagnostics;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.IO;
using Sluice.Plan;

namespace Sluice.Cluster.Tests;

/// <summary>
/// Tests that start their own cluster and load it for seconds (one kills a worker): they run alone,
/// after the others, so that no other cluster competes for the cores while nodes are probed every second.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OwnClusterCollection
{
    public const string Name = "own cluster (real redis-server, real worker processes, run alone)";
}

/// <summary>The job of the kill and equality tests: Range → simulated-GPU model → annotate (pid) → Parquet.</summary>
internal static class SimulatedJob
{
    public static Dataset Build(long rows, int blockRows, double perRowMs, PoolSize modelPool, PoolSize annotatePool) =>
        Dataset.Range(rows, new ReadOptions { BlockRows = blockRows }, tasks: 4)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 0, PerRowMs: perRowMs),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1), Pool = modelPool })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Resources = new ResourceRequest(Cpus: 1), Pool = annotatePool });

    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-{name}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>
/// A worker process killed outright (SIGKILL, as <c>kill -9</c>) in the middle of a job on a real
/// cluster: the job ends, and its output holds every row exactly once.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class WorkerKillTests(ITestOutputHelper output)
{
    private const long Rows = 8000;
    private const int BlockRows = 100;

    [Fact]
    public async Task WorkerKilledMidJob_JobFinishes_OutputHasEveryRowExactlyOnce()
    {
        // 3 workers x (1 cpu, 2 simulated GPUs). The model pool's max (4) is below the cluster's 6 GPUs and the annotate
        // pool's (2) below its 3 cpus, so that lost actors can be replaced on the surviving workers. Spread placement
        // gives w0 two model actors and the first annotate actor: the worker killed.
        // 8000 rows x 5 ms on 4 devices: about 10 s of device time.
        await using var cluster = await OwnCluster.StartAsync(3, "--cpus", "1", "--sim-gpus", "2", "--memory", "2GiB");
        var doomed = cluster.Workers[0];
        var left = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.Runtime.NodeLeft += n => left.TrySetResult(n.Id);
        var dir = SimulatedJob.TempDir("kill");
        var log = new CollectingLogger();
        try
        {
            var sink = new GatedSink(Sinks.Parquet(dir));
            var job = JobExecution.Start(SimulatedJob.Build(Rows, BlockRows, perRowMs: 5, new PoolSize(1, 4), new PoolSize(1, 2)), sink,
                new ExecutionOptions { Runtime = cluster.Runtime, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
            string Context() => $"{Environment.NewLine}snapshot: {JobOutput.Describe(job.Snapshot)}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}";

            // Kill once some blocks are committed, while the model stage is busy on every worker; first hold the sink a
            // moment, so that blocks queue for it in the stores of the nodes that made them (the first annotate actor
            // is on w0): the kill loses them, and they must be recomputed from their read task.
            var (atKill, clock) = await SinkBacklog.BuildAsync(job, sink, Context);
            var killedAt = clock.Elapsed;
            doomed.Kill();
            sink.Open();

            // Watch the model pool once the cluster has dropped the dead node: it replaces its lost actors on the survivors.
            var readyAfterLoss = 0;
            var afterKill = Stopwatch.StartNew();
            try
            {
                while (!job.Completion.IsCompleted)
                {
                    if (afterKill.Elapsed > TimeSpan.FromMinutes(3)) Assert.Fail($"the job did not end within 3 minutes of the kill{Context()}");
                    if (left.Task.IsCompleted && !cluster.Runtime.Nodes.Any(n => n.Id == doomed.NodeId))
                        readyAfterLoss = Math.Max(readyAfterLoss, job.Snapshot.Operators.Single(o => o.Name == "model").ActorsReady);
                    await Task.WhenAny(job.Completion, Task.Delay(20));
                }
                await job.Completion;
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"the job failed after the kill: {e}{Context()}");
            }
            var final = await job.Completion;
            var detail = $"{Environment.NewLine}killed {doomed.NodeId} at {killedAt.TotalSeconds:F1} s with {SinkBacklog.Written(atKill)} blocks written and {SinkBacklog.Queued(atKill)} queued for the sink; final {JobOutput.Describe(final)}executor log:{Environment.NewLine}{log.Tail()}";

            var lostActors = log.Lines.Count(l => l.Contains($"lost with node {doomed.NodeId}", StringComparison.Ordinal));
            var rerunTasks = log.Lines.Count(l => l.Contains("actor lost with its node", StringComparison.Ordinal));
            var replayedBlocks = log.Lines.Count(l => l.Contains("input block lost with its node", StringComparison.Ordinal));
            output.WriteLine($"model actors ready after the loss (max): {readyAfterLoss}; actors recorded lost: {lostActors}; tasks rerun on another actor: {rerunTasks}; lost blocks recomputed from their read task: {replayedBlocks}");
            output.WriteLine(string.Join(Environment.NewLine, log.Lines.Where(l => l.Contains("Warning", StringComparison.Ordinal))));
            output.WriteLine($"pids of the workers: {string.Join(", ", cluster.Workers.Select(w => $"{w.NodeId}={w.Pid}"))}{detail}");

            // Every row exactly once: what a clean run writes (ids 0..N-1), none missing, none twice.
            var rows = await JobOutput.ReadSortedAsync(dir, "pid");
            var ids = rows.Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, (int)Rows).Select(i => (long)i)), $"output ids are not 0..{Rows - 1} exactly once: {JobOutput.Diff(ids, Rows)}{detail}");
            Assert.True(File.Exists(Path.Combine(dir, "_SUCCESS")), $"no _SUCCESS marker{detail}");

            // The cluster noticed, and the executor recovered: tasks retried, actors lost with the node.
            Assert.Equal(doomed.NodeId, await left.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain(cluster.Runtime.Nodes, n => n.Id == doomed.NodeId);
            var retries = final.Operators.Sum(o => o.TaskRetries);
            Assert.True(retries >= 1, $"no task was retried{detail}");
            Assert.True(log.Lines.Any(l => l.Contains($"lost with node {doomed.NodeId}", StringComparison.Ordinal)), $"no actor was recorded lost with {doomed.NodeId}{detail}");
            Assert.True(log.Lines.Any(l => l.Contains("retried", StringComparison.Ordinal) && l.Contains("actor lost with its node", StringComparison.Ordinal)),
                $"no in-flight task was rerun on another actor{detail}");
            // w0 had 2 of the 4 model actors (spread placement: w0, w1, w2, w0); w1 and w2 have 2 GPUs free for their replacements.
            Assert.True(readyAfterLoss >= 3, $"after the node was dropped the model pool had at most {readyAfterLoss} actors ready: its lost actors were not replaced on the survivors{detail}");
            Assert.True(replayedBlocks >= 1, $"no lost block was recomputed from its read task{detail}");
            // Replacements go to the survivors: the dead node is suspect, so no burst of starts that fail there.
            foreach (var pool in final.Operators.Where(o => o.Kind == "actors"))
                Assert.True(pool.ActorsStarted <= 12, $"pool '{pool.Name}' started {pool.ActorsStarted} actors: replacements kept landing on the dead node{detail}");
            // Every row was processed by a live worker (the driver hosts no actors).
            var pids = await JobOutput.DistinctInt32Async(dir, "pid");
            var workerPids = cluster.Workers.Select(w => w.Pid).ToHashSet();
            Assert.True(pids.IsSubsetOf(workerPids), $"pids in the output [{string.Join(", ", pids)}] are not all worker pids [{string.Join(", ", workerPids)}]{detail}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }


}
