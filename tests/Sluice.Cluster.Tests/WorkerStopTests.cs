using System.Diagnostics;
using System.Globalization;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.IO;
using Sluice.Plan;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A worker process stopped with SIGSTOP in the middle of a job (issue 12 item 1): it neither answers nor dies, so
/// membership (Orleans' default failure detection here, not the tests' fast one) takes tens of seconds to declare it
/// dead. Speculation suspects it within the straggler threshold, retires its actors (replaced on the other workers) and
/// runs backup copies of its tasks elsewhere: the job ends within 1.3x the time of the same job undisturbed, measured
/// on the same cluster in the same test, and its output holds every row exactly once.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class WorkerStopTests(ITestOutputHelper output)
{
    // 10,800 rows in blocks of 100 x 5 ms a row: 108 batches of 0.5 s on 3 simulated GPUs, about 18 s undisturbed. Long
    // enough that the threshold (3 s: three medians of ~1 s, two tasks in flight per actor) and the start of a
    // replacement actor are a small share of the job, short enough for CI.
    private const long Rows = 10_800;
    private const int BlockRows = 100;

    /// <summary>
    /// The bound the issue sets. What the stop costs, by design: about one worker's third of the cluster for the
    /// threshold (3 s) until the node is suspected and its actor replaced, and the stuck tasks' rows run again at the end
    /// (one batch time): ~2 s on ~18 s, 1.1x, so 1.3x leaves room for a loaded machine's noise.
    /// </summary>
    private const double Bound = 1.3;

    [Fact]
    public async Task WorkerStoppedMidJob_SuspectedAndBackedUp_FinishesWithin1Point3xUndisturbed_EveryRowOnce()
    {
        using var redis = await RedisServer.StartAsync();
        var tag = Guid.NewGuid().ToString("N")[..6];
        // 3 workers x 2 simulated GPUs; the model pool's 3 actors take one GPU on each (spread placement), leaving a GPU free
        // on each worker for a replacement. No --fast-failure-detection: the stopped worker stays a member for a long while.
        var workers = (await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            WorkerProcess.StartAsync(redis.Uri, $"w{i}-{tag}", "--cpus", "1", "--sim-gpus", "2", "--memory", "2GiB")))).ToList();
        var stopped = workers[0];
        var isStopped = false;
        OrleansWorkerRuntime? runtime = null;
        var dirs = new List<string>();
        try
        {
            runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{tag}" });
            await runtime.WaitForWorkersAsync(3, TimeSpan.FromSeconds(60));

            var (undisturbed, _, _) = await RunAsync(runtime, dirs, null);
            var log = new CollectingLogger();
            var (disturbed, final, dir) = await RunAsync(runtime, dirs, log, async job =>
            {
                // Stop it once ~40% of the batches are done: the model stage busy on every worker.
                while (job.Snapshot.Operators.FirstOrDefault(o => o.Name == "model") is not { TasksDone: >= Rows / BlockRows * 2 / 5 })
                {
                    if (job.Completion.IsCompleted) Assert.Fail("the job ended before the worker was stopped");
                    await Task.Delay(20);
                }
                Signal("STOP", stopped.Pid);
                isStopped = true;
                return job.Snapshot.Elapsed;
            });

            var model = final.Operators.Single(o => o.Name == "model");
            var detail = $"{Environment.NewLine}undisturbed {undisturbed.TotalSeconds:F1} s, with {stopped.NodeId} stopped {disturbed.TotalSeconds:F1} s; " +
                $"backups launched {model.BackupsLaunched}, won {model.BackupsWon}, actors started {model.ActorsStarted}{Environment.NewLine}executor log:{Environment.NewLine}{log.Tail(40)}";
            output.WriteLine(detail);

            var ids = (await JobOutput.ReadSortedAsync(dir, "pid")).Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, (int)Rows).Select(i => (long)i)), $"output ids are not 0..{Rows - 1} exactly once: {JobOutput.Diff(ids, Rows)}{detail}");
            Assert.True(File.Exists(Path.Combine(dir, "_SUCCESS")), $"no _SUCCESS marker{detail}");
            Assert.Contains(log.Lines, l => l.Contains($"node {stopped.NodeId} suspected: no task finished for", StringComparison.Ordinal));
            Assert.True(model.BackupsLaunched >= 1, $"no backup copy was launched for the stopped worker's tasks{detail}");
            // The stopped worker is still a member: the job did not wait for membership to declare it dead.
            Assert.Contains(runtime.Nodes, n => n.Id == stopped.NodeId);
            Assert.True(disturbed.TotalSeconds <= Bound * undisturbed.TotalSeconds,
                $"with a worker stopped the job took {disturbed.TotalSeconds:F1} s, more than {Bound}x the undisturbed {undisturbed.TotalSeconds:F1} s{detail}");
        }
        finally
        {
            // Never leave a stopped process behind: let it run again, then end every worker.
            if (isStopped) Signal("CONT", stopped.Pid);
            if (runtime is not null)
            {
                try { await runtime.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)); }
                catch (TimeoutException) { }
            }
            foreach (var w in workers) w.Dispose();
            foreach (var d in dirs)
            {
                try { Directory.Delete(d, recursive: true); }
                catch (IOException) { }
            }
        }
    }

    /// <summary>Runs the job to its end (shutdown included); <paramref name="during"/> acts on it meanwhile. Wall time from start to completion.</summary>
    private static async Task<(TimeSpan Wall, Execution.Stats.ExecutionSnapshot Final, string Dir)> RunAsync(OrleansWorkerRuntime runtime, List<string> dirs,
        CollectingLogger? log, Func<JobExecution, Task<TimeSpan>>? during = null)
    {
        var dir = SimulatedJob.TempDir("stop");
        dirs.Add(dir);
        var ds = Dataset.Range(Rows, new ReadOptions { BlockRows = BlockRows }, tasks: 4)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(PerRowMs: 5),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1), Pool = new PoolSize(3, 3) });
        var clock = Stopwatch.StartNew();
        var job = JobExecution.Start(ds, Sinks.Parquet(dir), new ExecutionOptions { Runtime = runtime, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
        if (during is not null) await during(job);
        var final = await job.Completion.WaitAsync(TimeSpan.FromMinutes(3));
        return (clock.Elapsed, final, dir);
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit(10_000);
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} {pid} exited with {kill.ExitCode}");
    }
}
