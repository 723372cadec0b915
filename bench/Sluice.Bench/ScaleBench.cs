using System.Diagnostics;
using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>scale</c>: the control loop at 1,000 actors (issue 10, item 3). One in-process node with N simulated GPUs,
/// one <c>simulate</c> stage of gpus 1 per actor with a pool of min = max = N, one-row blocks of one fixed-time
/// batch each (~100 ms), enough of them for several waves. Prints the engine's own cost per task (time the loop
/// spent in its turns / tasks) and the utilization of the devices: the device-time limit (total time asked / N)
/// against the wall time of the job. Last line: <c>ratio: limit/wall</c>.
/// </summary>
/// <remarks>One node only: the "100 simulated nodes" would need a simulated cluster runtime, not done here.</remarks>
internal static class ScaleBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        var gpus = 1000;
        var waves = 20;
        var taskMs = 100.0;
        var readTasks = 16;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--gpus": gpus = int.Parse(args[++i], ci); break;
                case "--waves": waves = int.Parse(args[++i], ci); break;
                case "--task-ms": taskMs = double.Parse(args[++i], ci); break;
                case "--read-tasks": readTasks = int.Parse(args[++i], ci); break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: Sluice.Bench scale [--gpus 1000] [--waves 20] [--task-ms 100] [--read-tasks 16]"); return 2;
            }
        }
        var tasks = gpus * waves;
        var node = new NodeResources(Environment.ProcessorCount, 0, 16L << 30).WithSimulatedGpus(gpus);
        var limitMs = tasks * taskMs / gpus;
        Say($"scale bench: {gpus} simulated GPUs on one node (cores={Environment.ProcessorCount}), simulate {taskMs} ms per task, {tasks} one-row blocks ({waves} waves), pool min=max={gpus}, max_concurrency 1");
        Say($"device-time limit {limitMs:F0} ms (asked device time / {gpus}); one node only (100 simulated nodes not simulated here)");

        var ds = Dataset.Range(tasks, new ReadOptions { BlockRows = 1 }, tasks: readTasks)
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(FixedMs: taskMs, PerRowMs: 0)), "simulate",
                new MapBatchesOptions { Name = "simulate", Pool = new PoolSize(gpus, gpus, gpus), Resources = new ResourceRequest(Gpus: 1), MaxConcurrency = 1 });
        var sink = new CountingSink();
        var start = Stopwatch.GetTimestamp();
        var job = JobExecution.Start(ds, sink, new ExecutionOptions { Resources = node });
        // When every actor is up (from snapshots, published at most every 20 ms): the start-up part of the wall time.
        double? allReadyMs = null;
        while (!job.Completion.IsCompleted)
        {
            if (allReadyMs is null && job.Snapshot.Operators.FirstOrDefault(o => o.Name == "simulate") is { } s && s.ActorsReady >= gpus)
                allReadyMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            await Task.WhenAny(job.Completion, Task.Delay(5));
        }
        var snap = await job.Completion;
        var wallMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (sink.Rows != tasks) throw new InvalidOperationException($"the job wrote {sink.Rows} rows, expected {tasks}");
        var stage = snap.Operators.First(o => o.Name == "simulate");
        var askedMs = snap.DeviceAsked.Sum(t => t.TotalMilliseconds);
        var busyMs = snap.DeviceBusy.Sum(t => t.TotalMilliseconds);
        var loopUs = snap.LoopBusy.TotalMilliseconds * 1000;
        Say($"wall {wallMs:F0} ms; tasks {stage.TasksDone}; loop turns {snap.LoopTurns}; loop busy {snap.LoopBusy.TotalMilliseconds:F0} ms ({snap.LoopBusy.TotalMilliseconds / wallMs:P0} of wall)");
        Say($"all {gpus} actors ready at {(allReadyMs is { } r ? $"{r:F0} ms" : "n/a")}; from then on the limit is {limitMs:F0} ms of {wallMs - (allReadyMs ?? 0):F0} ms ({limitMs / (wallMs - (allReadyMs ?? 0)):F3})");
        Say($"engine cost: {loopUs / stage.TasksDone:F1} us per task, {loopUs / Math.Max(1, snap.LoopTurns):F1} us per turn");
        Say($"devices: asked {askedMs / gpus:F0} ms, held {busyMs / gpus:F0} ms per device (mean)");
        Say($"utilization: {limitMs / wallMs:F3} (limit {limitMs:F0} ms / wall {wallMs:F0} ms); asked-time limit {askedMs / gpus:F0} ms / wall = {askedMs / gpus / wallMs:F3}");
        Say($"ratio: {limitMs / wallMs:F3}");
        return 0;
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
