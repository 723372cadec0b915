using System.Diagnostics;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Stats;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A worker that joins while a job runs is used: the executor adds its resources, and a pool with backlog scales onto it.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class WorkerJoinTests(ITestOutputHelper output)
{
    private const long Rows = 8000;
    private const int BlockRows = 100;
    private static readonly string[] WorkerArgs = ["--cpus", "1", "--sim-gpus", "2", "--memory", "2GiB"];

    [Fact]
    public async Task WorkerJoinsMidJob_ModelPoolScalesOntoIt_OutputHasEveryRowExactlyOnce()
    {
        // One worker with 2 simulated GPUs: the model pool (up to 6 actors of 1 GPU) is stuck at 2 with a backlog
        // (8000 rows x 5 ms = 40 s of device time). A second worker with 2 more GPUs joins mid-job.
        await using var cluster = await OwnCluster.StartAsync(1, WorkerArgs);
        var dir = SimulatedJob.TempDir("join");
        var log = new CollectingLogger();
        try
        {
            var job = JobExecution.Start(SimulatedJob.Build(Rows, BlockRows, perRowMs: 5, new PoolSize(1, 6), new PoolSize(1, 2)), Sinks.Parquet(dir),
                new ExecutionOptions { Runtime = cluster.Runtime, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
            string Context() => $"{Environment.NewLine}snapshot: {JobOutput.Describe(job.Snapshot)}executor log:{Environment.NewLine}{log.Tail(120)}{Environment.NewLine}{cluster.WorkerOutput()}";

            var clock = Stopwatch.StartNew();
            var readyBefore = 0;
            while (SinkBacklog.Written(job.Snapshot) < 5)
            {
                if (job.Completion.IsCompleted) Assert.Fail($"the job ended before 5 blocks were written: {job.Completion.Exception?.InnerException}{Context()}");
                if (clock.Elapsed > TimeSpan.FromSeconds(90)) Assert.Fail($"fewer than 5 blocks written within 90 s{Context()}");
                readyBefore = Math.Max(readyBefore, ModelReady(job.Snapshot));
                await Task.Delay(20);
            }
            var joinedAt = clock.Elapsed;
            var writtenAtJoin = SinkBacklog.Written(job.Snapshot);
            var joiner = await cluster.AddWorkerAsync(WorkerArgs);
            var seenAt = clock.Elapsed;
            if (job.Completion.IsCompleted) Assert.Fail($"the job ended before the second worker joined: make it longer{Context()}");

            var readyAfter = 0;
            while (!job.Completion.IsCompleted)
            {
                if (clock.Elapsed > TimeSpan.FromMinutes(3)) Assert.Fail($"the job did not end within 3 minutes{Context()}");
                readyAfter = Math.Max(readyAfter, ModelReady(job.Snapshot));
                await Task.WhenAny(job.Completion, Task.Delay(20));
            }
            ExecutionSnapshot final;
            try
            {
                final = await job.Completion;
            }
            catch (Exception e)
            {
                Assert.Fail($"the job failed: {e}{Context()}");
                throw;
            }
            var detail = $"{Environment.NewLine}second worker {joiner.NodeId} (pid {joiner.Pid}) started at {joinedAt.TotalSeconds:F1} s with {writtenAtJoin} blocks written, " +
                $"seen by the driver at {seenAt.TotalSeconds:F1} s; final {JobOutput.Describe(final)}executor log:{Environment.NewLine}{log.Tail(120)}";

            var rows = await JobOutput.ReadSortedAsync(dir, "pid");
            var ids = rows.Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, (int)Rows).Select(i => (long)i)), $"output ids are not 0..{Rows - 1} exactly once: {JobOutput.Diff(ids, Rows)}{detail}");

            var pids = await JobOutput.DistinctInt32Async(dir, "pid");
            output.WriteLine($"model actors ready: at most {readyBefore} before the join, {readyAfter} after; peak {Model(final).PeakActors}; " +
                $"pids in the output [{string.Join(", ", pids)}], first worker {cluster.Workers[0].Pid}, joiner {joiner.Pid}{detail}");
            output.WriteLine(string.Join(Environment.NewLine, log.Lines.Where(l => l.Contains("model", StringComparison.Ordinal) && l.Contains("scal", StringComparison.OrdinalIgnoreCase))));

            // The first worker's 2 GPUs hold at most 2 model actors: more than 2 ready means the pool scaled onto the joiner.
            Assert.True(readyBefore <= 2, $"{readyBefore} model actors ready on one worker with 2 GPUs{detail}");
            Assert.True(readyAfter >= 3, $"the model pool never had more than {readyAfter} actors ready after the join: it did not scale onto {joiner.NodeId}{detail}");
            Assert.Contains(cluster.Runtime.Nodes, n => n.Id == joiner.NodeId);
            Assert.True(pids.IsSubsetOf(cluster.Workers.Select(w => w.Pid).ToHashSet()), $"pids in the output [{string.Join(", ", pids)}] are not all worker pids{detail}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    private static OperatorSnapshot Model(ExecutionSnapshot s) => s.Operators.Single(o => o.Name == "model");

    /// <summary>Model actors ready now; 0 before the job has built its stages.</summary>
    private static int ModelReady(ExecutionSnapshot s) => s.Operators.SingleOrDefault(o => o.Name == "model")?.ActorsReady ?? 0;

}
