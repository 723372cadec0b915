using System.Diagnostics;
using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>scale</c>: the control loop at 1,000 actors over 100 nodes (issue 10, item 3). A simulated cluster in this
/// process (<see cref="SimClusterRuntime"/>: a driver and N nodes of G simulated GPUs each, placed on by the
/// executor's own resource manager), one <c>simulate</c> stage of gpus 1 per actor with a pool of min = max = N x G,
/// one-row blocks of one fixed-time batch each (~100 ms), enough of them for several waves. Prints the engine's own
/// cost per task (time the loop spent in its turns / tasks) and the utilization of the devices: the device-time limit
/// (total time asked / devices) against the wall time of the job. Last line: <c>ratio: limit/wall</c>.
/// </summary>
/// <remarks><c>--nodes 0</c> runs the old shape: one local node holding every GPU.</remarks>
internal static class ScaleBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        var nodes = 100;
        var perNode = 10;
        var waves = 20;
        var taskMs = 100.0;
        var readTasks = 16;
        var warmup = true;
        // What a user gets (MapBatchesOptions' default of 2 in flight per actor: the next block waits at the actor while
        // the device works); --max-concurrency 1 makes every task wait for a loop round trip, the loop's worst case.
        var maxConcurrency = new MapBatchesOptions().MaxConcurrency;
        var speculation = true;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--nodes": nodes = int.Parse(args[++i], ci); break;
                case "--gpus-per-node": perNode = int.Parse(args[++i], ci); break;
                case "--waves": waves = int.Parse(args[++i], ci); break;
                case "--task-ms": taskMs = double.Parse(args[++i], ci); break;
                case "--read-tasks": readTasks = int.Parse(args[++i], ci); break;
                case "--no-warmup": warmup = false; break;
                case "--max-concurrency": maxConcurrency = int.Parse(args[++i], ci); break;
                case "--no-speculation": speculation = false; break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: Sluice.Bench scale [--nodes 100] [--gpus-per-node 10] [--waves 20] [--task-ms 100] [--read-tasks 16] [--max-concurrency 2] [--no-speculation] [--no-warmup]"); return 2;
            }
        }
        if (warmup)
        {
            // The same job, small and short, first: the measured run should not pay for compiling the engine's code.
            var w = Stopwatch.GetTimestamp();
            await RunJobAsync(nodes > 0 ? new SimClusterRuntime(Math.Min(nodes, 10), perNode, 8, 16L << 30) : null, Math.Max(1, Math.Min(nodes, 10)) * perNode, 3, 10, readTasks, maxConcurrency);
            Say($"warm-up: the same job on {Math.Max(1, Math.Min(nodes, 10)) * perNode} GPUs, 3 waves of 10 ms, in {Stopwatch.GetElapsedTime(w).TotalMilliseconds:F0} ms (not measured; --no-warmup skips it)");
        }
        var gpus = Math.Max(1, nodes) * perNode;
        var tasks = gpus * waves;
        var limitMs = tasks * taskMs / gpus;
        // --nodes 0: the embedded runtime with one node of every GPU; else the simulated cluster.
        var cluster = nodes > 0 ? new SimClusterRuntime(nodes, perNode, cpusPerNode: 8, memoryPerNode: 16L << 30) : null;
        var options = cluster is not null
            ? new ExecutionOptions { Runtime = cluster }
            : new ExecutionOptions { Resources = new NodeResources(Environment.ProcessorCount, 0, 16L << 30).WithSimulatedGpus(gpus) };
        if (!speculation) options = options with { Speculation = new SpeculationOptions { Enabled = false } };
        var where = cluster is not null ? $"{nodes} simulated nodes x {perNode} GPUs" : "one node";
        Say($"scale bench: {gpus} simulated GPUs on {where} (cores={Environment.ProcessorCount}), simulate {taskMs} ms per task, {tasks} one-row blocks ({waves} waves), pool min=max={gpus}, max_concurrency {maxConcurrency}");
        Say($"device-time limit {limitMs:F0} ms (asked device time / {gpus})");

        var ds = Dataset.Range(tasks, new ReadOptions { BlockRows = 1 }, tasks: readTasks)
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(FixedMs: taskMs, PerRowMs: 0)), "simulate",
                new MapBatchesOptions { Name = "simulate", Pool = new PoolSize(gpus, gpus, gpus), Resources = new ResourceRequest(Gpus: 1), MaxConcurrency = maxConcurrency });
        var sink = new CountingSink();
        var start = Stopwatch.GetTimestamp();
        var job = JobExecution.Start(ds, sink, options);
        // When every actor is up (from snapshots, published at most every 20 ms): the start-up part of the wall time.
        double? allReadyMs = null;
        int minQueue = int.MaxValue, queueSamples = 0, emptySamples = 0;
        IReadOnlyDictionary<string, int> placed = new Dictionary<string, int>();
        while (!job.Completion.IsCompleted)
        {
            var now = job.Snapshot;
            if (allReadyMs is null && now.Operators.FirstOrDefault(o => o.Name == "simulate") is { } s && s.ActorsReady >= gpus)
            {
                allReadyMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                placed = now.ActorsPerNode;
            }
            // The stage's queue while devices work (all ready, before the input's last wave): empty means devices wait for blocks.
            if (allReadyMs is not null && now.Operators.FirstOrDefault(o => o.Name == "simulate") is { } q && q.TasksDone < tasks - gpus)
            {
                minQueue = Math.Min(minQueue, q.QueuedBlocks);
                queueSamples++;
                if (q.QueuedBlocks == 0) emptySamples++;
            }
            await Task.WhenAny(job.Completion, Task.Delay(5));
        }
        var snap = await job.Completion;
        var end = Stopwatch.GetTimestamp();
        var wallMs = Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
        if (sink.Rows != tasks) throw new InvalidOperationException($"the job wrote {sink.Rows} rows, expected {tasks}");
        var stage = snap.Operators.First(o => o.Name == "simulate");
        var askedMs = cluster is not null ? cluster.Devices.Sum(d => d.AskedTimes().Sum(t => t.TotalMilliseconds)) : snap.DeviceAsked.Sum(t => t.TotalMilliseconds);
        var busyMs = cluster is not null ? cluster.Devices.Sum(d => d.BusyTimes().Sum(t => t.TotalMilliseconds)) : snap.DeviceBusy.Sum(t => t.TotalMilliseconds);
        var loopUs = snap.LoopBusy.TotalMilliseconds * 1000;
        Say($"wall {wallMs:F0} ms; tasks {stage.TasksDone}; loop turns {snap.LoopTurns}; loop busy {snap.LoopBusy.TotalMilliseconds:F0} ms ({snap.LoopBusy.TotalMilliseconds / wallMs:P0} of wall)");
        Say($"all {gpus} actors ready at {(allReadyMs is { } r ? $"{r:F0} ms" : "n/a")}; from then on the limit is {limitMs:F0} ms of {wallMs - (allReadyMs ?? 0):F0} ms ({limitMs / (wallMs - (allReadyMs ?? 0)):F3})");
        Say($"engine cost: {loopUs / stage.TasksDone:F1} us per task, {loopUs / Math.Max(1, snap.LoopTurns):F1} us per turn");
        if (cluster is not null)
            Say($"placement when all were ready: {placed.Count} nodes hold actors, {(placed.Count > 0 ? placed.Values.Min() : 0)}..{(placed.Count > 0 ? placed.Values.Max() : 0)} each");
        Say($"stage queue while the devices worked: at least {(queueSamples > 0 ? minQueue : 0)} blocks, empty in {emptySamples} of {queueSamples} snapshots");
        if (cluster is not null)
        {
            var (firstMs, gapMs, tailMs, callMs) = cluster.Timeline(start, end);
            Say($"per device (mean): first task called at {firstMs:F0} ms, {gapMs:F0} ms between a task's end and the next call, {callMs:F0} ms from calls to returns, {tailMs:F0} ms after its last task");
        }
        Say($"devices: asked {askedMs / gpus:F0} ms, held {busyMs / gpus:F0} ms per device (mean)");
        Say($"utilization: {limitMs / wallMs:F3} (limit {limitMs:F0} ms / wall {wallMs:F0} ms); asked-time limit {askedMs / gpus:F0} ms / wall = {askedMs / gpus / wallMs:F3}");
        Say($"ratio: {limitMs / wallMs:F3}");
        return 0;
    }

    private static async Task RunJobAsync(SimClusterRuntime? cluster, int gpus, int waves, double taskMs, int readTasks, int maxConcurrency)
    {
        var options = cluster is not null
            ? new ExecutionOptions { Runtime = cluster }
            : new ExecutionOptions { Resources = new NodeResources(Environment.ProcessorCount, 0, 16L << 30).WithSimulatedGpus(gpus) };
        var ds = Dataset.Range(gpus * waves, new ReadOptions { BlockRows = 1 }, tasks: readTasks)
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(FixedMs: taskMs, PerRowMs: 0)), "simulate",
                new MapBatchesOptions { Name = "simulate", Pool = new PoolSize(gpus, gpus, gpus), Resources = new ResourceRequest(Gpus: 1), MaxConcurrency = maxConcurrency });
        await JobExecution.Start(ds, new CountingSink(), options).Completion;
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
