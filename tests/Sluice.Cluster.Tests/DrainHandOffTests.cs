using System.Diagnostics;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Execution.Simulation;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A drain that ends: a worker given SIGTERM while blocks it made wait for a sink that is held does not wait for those
/// consumers (before: 60 s, then the job took 74 s); it hands the blocks to the driver and leaves within seconds, and the
/// job ends about as fast as without the SIGTERM, every row exactly once.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class DrainHandOffTests(ITestOutputHelper output)
{
    private const long Rows = 16000;
    private const int BlockRows = 100;

    /// <summary>Blocks committed before the sink is held (of 160): the job is well under way, most of it still to run.</summary>
    private const int WrittenBeforeHold = 30;

    /// <summary>How long the sink is held before the SIGTERM (in both runs, from the same point): blocks queue for it, some in w0's store.</summary>
    private static readonly TimeSpan HoldBefore = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long the sink stays held after the SIGTERM (in both runs): longer than <see cref="ExitBound"/>, so a drain that
    /// waited for its blocks' consumers could not leave in time.
    /// </summary>
    private static readonly TimeSpan HoldAfter = TimeSpan.FromSeconds(12);

    /// <summary>
    /// The worker must exit this soon after SIGTERM: its in-flight tasks (a 100-row batch is 0.5 s of simulated GPU)
    /// finish, a few MiB of blocks cross loopback, and the silo leaves gracefully; 10 s leaves room for a loaded machine.
    /// </summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task WorkerTerminatedWhileItsBlocksWaitForAHeldSink_HandsThemToTheDriver_ExitsInSeconds_JobWithin1point2xOfUndisturbed()
    {
        // 3 workers x (1 cpu, 2 simulated GPUs); the model pool's max (4) fits the 4 GPUs of the two survivors and the
        // annotate pool's (2) their 2 cpus: losing w0 costs the job no capacity, so the ratio measures the drain alone.
        await using var cluster = await OwnCluster.StartAsync(3, "--cpus", "1", "--sim-gpus", "2", "--memory", "2GiB");
        var leaving = cluster.Workers[0];
        var log = new CollectingLogger();

        // A short job first: the nodes' code is warm for both measured runs, so the order of the two does not favour the second.
        await RunAsync(cluster, log, 1600, "warm-up", onHold: null);
        var (undisturbed, _) = await RunAsync(cluster, log, Rows, "undisturbed", onHold: null);

        Task<(int? Code, TimeSpan After)>? exit = null;
        var (disturbed, dir) = await RunAsync(cluster, log, Rows, "sigterm", onHold: () =>
        {
            var sinceTerm = Stopwatch.StartNew();
            leaving.Terminate();
            exit = leaving.WaitForExitAsync(TimeSpan.FromSeconds(90)).ContinueWith(t => (t.Result, sinceTerm.Elapsed), TaskScheduler.Default);
        });
        var (exitCode, exitedAfter) = await exit!;
        try
        {
            var ratio = disturbed.TotalSeconds / undisturbed.TotalSeconds;
            var drainLog = leaving.Output.Split(Environment.NewLine).Where(l => l.Contains("drain", StringComparison.Ordinal) || l.Contains("leav", StringComparison.Ordinal)).ToList();
            var replayed = log.Lines.Where(l => l.Contains("input block lost", StringComparison.Ordinal)).ToList();
            var detail = $"{Environment.NewLine}undisturbed {undisturbed.TotalSeconds:F1} s, with SIGTERM {disturbed.TotalSeconds:F1} s (ratio {ratio:F2}); " +
                $"worker exit code {exitCode?.ToString() ?? "none"} (process gone {exitedAfter.TotalSeconds:F1} s after SIGTERM, or still running){Environment.NewLine}" +
                $"{string.Join(Environment.NewLine, drainLog)}{Environment.NewLine}executor log:{Environment.NewLine}{log.Tail(80)}{Environment.NewLine}{cluster.WorkerOutput()}";
            output.WriteLine($"undisturbed {undisturbed.TotalSeconds:F1} s; with SIGTERM {disturbed.TotalSeconds:F1} s; ratio: {ratio:F2}; worker gone {exitedAfter.TotalSeconds:F1} s after SIGTERM; blocks recomputed {replayed.Count}");
            output.WriteLine(string.Join(Environment.NewLine, drainLog));

            // Every row exactly once.
            var ids = (await JobOutput.ReadSortedAsync(dir, "pid")).Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, (int)Rows).Select(i => (long)i)), $"output ids are not 0..{Rows - 1} exactly once: {JobOutput.Diff(ids, Rows)}{detail}");
            Assert.True(File.Exists(Path.Combine(dir, "_SUCCESS")), $"no _SUCCESS marker{detail}");

            // The worker did not wait for the held sink: it handed its blocks to the driver and left, cleanly, in seconds.
            Assert.True(exitCode == 0 && exitedAfter <= ExitBound, $"worker {leaving.NodeId} exited with {exitCode?.ToString() ?? "nothing (still running)"} " +
                $"{exitedAfter.TotalSeconds:F1} s after SIGTERM; 0 within {ExitBound.TotalSeconds:0} s wanted{detail}");
            Assert.Contains(drainLog, l => l.Contains("draining: handing", StringComparison.Ordinal) && l.Contains($"to node {cluster.Runtime.NodeId}", StringComparison.Ordinal));
            Assert.Contains(drainLog, l => l.Contains("drained in", StringComparison.Ordinal));
            // Nothing it made was lost: the driver served the handed blocks, none was recomputed.
            Assert.True(replayed.Count == 0, $"blocks were recomputed after a graceful leave:{Environment.NewLine}{string.Join(Environment.NewLine, replayed)}{detail}");

            // 1.2x: the leave costs the job no capacity (see above), only restarting w0's actors on the survivors and
            // moving its blocks (milliseconds); the rest of the margin absorbs a shared 2-core machine's noise between runs.
            Assert.True(ratio <= 1.2, $"the job took {ratio:F2}x as long with the SIGTERM as without (1.2x at most){detail}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task BlockOfAWorkerThatDrained_ReadOnTheDriverAndByAnotherWorker_ServedByTheDriverUnderItsId()
    {
        await using var cluster = await OwnCluster.StartAsync(2, "--cpus", "1", "--sim-gpus", "1");
        var runtime = cluster.Runtime;
        var (leaving, staying) = (cluster.Workers[0], cluster.Workers[1]);
        var ct = CancellationToken.None;
        var input = runtime.Put(new Block(new RecordBatch(new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default)).Build(),
            [new Int64Array.Builder().AppendRange([7, 8, 9]).Build()], 3), new BlockLineage(0, "handed", 0, 0)));
        var annotate = new ActorSpec("annotate", 0, () => new AnnotateProcessor(), new ProcessorContext("annotate", 0, new ResourceRequest(Cpus: 1), []), null,
            ProcessorDescriptor.Of<AnnotateProcessor>(), leaving.NodeId);
        BlockRef made;
        await using (var first = await runtime.StartActorAsync(annotate, ct))
        {
            made = await first.RunAsync(input, ct).WaitAsync(TimeSpan.FromMinutes(1));
        }
        Assert.Equal(leaving.NodeId, made.Node);

        // The block's maker leaves: it hands the block (nobody consumed it) to this driver, and is gone.
        leaving.Terminate();
        var code = await leaving.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"worker {leaving.NodeId} did not leave within 30 s of SIGTERM (exit {code}):{Environment.NewLine}{leaving.Output}");
        Assert.Contains(leaving.Output.Split(Environment.NewLine), l => l.Contains($"handing 1 block(s)", StringComparison.Ordinal) && l.Contains($"to node {runtime.NodeId}", StringComparison.Ordinal));
        Assert.Equal(1, runtime.HandedBlocks);

        // The ref still names the worker that left: the driver answers for it, on its own reads and on another worker's.
        var onDriver = await runtime.GetAsync(made, ct);
        var model = new ActorSpec("model", 0, () => new SimulateProcessor(new SimulateOptions(0, 0)), new ProcessorContext("model", 0, new ResourceRequest(Gpus: 1), [0]), null,
            ProcessorDescriptor.Of<SimulateProcessor, SimulateOptions>(new SimulateOptions(0, 0)), staying.NodeId);
        BlockRef again;
        await using (var second = await runtime.StartActorAsync(model, ct))
        {
            again = await second.RunAsync(made, ct).WaitAsync(TimeSpan.FromMinutes(1));
        }
        var onWorker = await runtime.GetAsync(again, ct);
        runtime.Free(made);
        runtime.Free(again);

        foreach (var block in new[] { onDriver, onWorker })
        {
            Assert.Equal([7L, 8L, 9L], ((Int64Array)block.Batch.Column("id")).Values.ToArray());
            Assert.All(((Int32Array)block.Batch.Column("pid")).Values.ToArray(), pid => Assert.Equal(leaving.Pid, pid));
        }
        Assert.Equal(staying.NodeId, again.Node);
        // Freed through its old ref: the driver let its copy go.
        Assert.Equal(0, runtime.HandedBlocks);
    }

    /// <summary>
    /// Runs the simulated job on the cluster; after <see cref="WrittenBeforeHold"/> committed blocks the sink is held for
    /// <see cref="HoldBefore"/> + <see cref="HoldAfter"/> (<paramref name="onHold"/> acts between the two). Returns the wall time and the output directory
    /// (deleted here but for the measured SIGTERM run's).
    /// </summary>
    private static async Task<(TimeSpan Wall, string Dir)> RunAsync(OwnCluster cluster, CollectingLogger log, long rows, string name, Action? onHold)
    {
        var dir = SimulatedJob.TempDir($"handoff-{name}");
        var sink = new GatedSink(Sinks.Parquet(dir));
        var clock = Stopwatch.StartNew();
        var job = JobExecution.Start(SimulatedJob.Build(rows, BlockRows, perRowMs: 5, new PoolSize(1, 4), new PoolSize(1, 2)), sink,
            new ExecutionOptions { Runtime = cluster.Runtime, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
        string Context() => $"{Environment.NewLine}{name} run: {JobOutput.Describe(job.Snapshot)}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}";
        if (rows == Rows)
        {
            while (SinkBacklog.Written(job.Snapshot) < WrittenBeforeHold)
            {
                if (job.Completion.IsCompleted) Assert.Fail($"the job ended before {WrittenBeforeHold} blocks were written{Context()}");
                if (clock.Elapsed > TimeSpan.FromSeconds(120)) Assert.Fail($"fewer than {WrittenBeforeHold} blocks written within 120 s{Context()}");
                await Task.Delay(10);
            }
            sink.Close();
            await Task.Delay(HoldBefore);
            onHold?.Invoke();
            await Task.Delay(HoldAfter);
            sink.Open();
        }
        try
        {
            await job.Completion.WaitAsync(TimeSpan.FromMinutes(3));
        }
        catch (Exception e)
        {
            Assert.Fail($"the {name} run did not end well: {e}{Context()}");
        }
        var wall = clock.Elapsed;
        if (onHold is null)
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
        return (wall, dir);
    }
}
