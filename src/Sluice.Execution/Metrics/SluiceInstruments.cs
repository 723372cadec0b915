using System.Diagnostics.Metrics;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Metrics;

/// <summary>
/// The instruments of the <see cref="SluiceMetrics.MeterName"/> meter. All are observable: a collection reads the
/// jobs' latest snapshots (<see cref="JobMetricsRegistry"/>), so recording costs the engine nothing between collections.
/// </summary>
internal static class SluiceInstruments
{
    public static Meter Meter { get; } = Create();

    /// <summary>Makes sure the meter and its instruments exist (a listener sees only what is published).</summary>
    public static void EnsureCreated() => _ = Meter;

    private static Meter Create()
    {
        var meter = new Meter(SluiceMetrics.MeterName, typeof(SluiceInstruments).Assembly.GetName().Version?.ToString(3));
        meter.CreateObservableCounter(MetricNames.Rows, () => Stages(s => s.Rows), "{row}", "Rows a stage has output (the sink's: rows written).");
        meter.CreateObservableCounter(MetricNames.Blocks, () => Stages(s => s.Blocks), "{block}", "Blocks a stage has output.");
        meter.CreateObservableCounter(MetricNames.Bytes, () => Stages(s => s.Bytes), "By", "Bytes of the blocks a stage has output.");
        meter.CreateObservableCounter(MetricNames.Tasks, () => Stages(s => s.Tasks), "{task}", "Tasks a stage has finished.");
        meter.CreateObservableCounter(MetricNames.Retries, () => Stages(s => s.Retries), "{retry}", "Tasks of a stage run again after a failure or a lost node.");
        meter.CreateObservableCounter(MetricNames.Backups, () => Stages(s => s.Backups), "{task}", "Backup copies of a stage's straggling tasks launched (speculative execution).");
        meter.CreateObservableCounter(MetricNames.Tokens, () => Stages(s => s.Tokens), "{token}", "Tokens generated into a stage's output (a generate stage's completion_tokens; later stages pass the same tokens on).");
        meter.CreateObservableCounter(MetricNames.BackupsWon, () => Stages(s => s.BackupsWon), "{task}", "Backup copies that finished before their original (which was cancelled, its output discarded).");
        meter.CreateObservableCounter(MetricNames.BackpressureTime, () => Stages(s => s.BackpressureSeconds), "s", "Time a stage was not given input because its output was full.");
        meter.CreateObservableUpDownCounter(MetricNames.ActiveTasks, () => Latest(o => o.TasksRunning), "{task}", "Tasks of a stage running now.");
        meter.CreateObservableUpDownCounter(MetricNames.QueueBlocks, () => Latest(o => o.QueuedBlocks), "{block}", "Blocks waiting in a stage's input queue.");
        meter.CreateObservableUpDownCounter(MetricNames.QueueBytes, () => Latest(o => o.QueuedBytes), "By", "Bytes waiting in a stage's input queue.");
        meter.CreateObservableUpDownCounter(MetricNames.HeldBytes, () => Latest(o => o.OutputBytes), "By", "Bytes of a stage's output held in memory (charged to its budget).");
        meter.CreateObservableUpDownCounter(MetricNames.Actors, Actors, "{actor}", "Actors of a stage's pool by state: busy, idle, starting.");
        meter.CreateObservableUpDownCounter(MetricNames.ActorTarget, () => Latest(o => o.Target ?? 0, actorsOnly: true), "{actor}", "Actors the autoscaler wants a stage's pool to have now.");
        meter.CreateObservableCounter(MetricNames.ScalingDecisions, Decisions, "{decision}", "Autoscaler decisions by direction: up, down, hold.");
        meter.CreateObservableCounter(MetricNames.DeviceBusyTime, DeviceBusy, "s", "Time each (simulated) GPU was held by a batch.");
        meter.CreateObservableGauge(MetricNames.DeviceAllocation, DeviceAllocation, "1", "Share of each GPU allocated to actors now (0..1).");
        meter.CreateObservableUpDownCounter(MetricNames.NodeActors, NodeActors, "{actor}", "A job's actors on each node, starting and stopping ones included.");
        meter.CreateObservableUpDownCounter(MetricNames.MemoryUsage, () => Job(s => s.UsedBytes), "By", "Bytes of blocks in flight.");
        meter.CreateObservableUpDownCounter(MetricNames.MemoryLimit, () => Job(s => s.BudgetBytes), "By", "The job's memory budget for blocks in flight.");
        meter.CreateObservableCounter(MetricNames.Elapsed, () => Job(s => s.Elapsed.TotalSeconds), "s", "Time since the job started.");
        meter.CreateObservableGauge(MetricNames.Progress, () => Progress(p => p.Fraction), "1", "Share of the job done (rows written over the input's rows), where the input's size is known.");
        meter.CreateObservableGauge(MetricNames.Remaining, () => Progress(p => p.Remaining?.TotalSeconds), "s", "Time the job should still take at its rate so far, where known.");
        return meter;
    }

    private static List<Measurement<double>> Progress(Func<ProgressEstimate, double?> pick)
    {
        var all = new List<Measurement<double>>();
        foreach (var job in JobMetricsRegistry.Jobs())
            if (job.Progress() is { } p && pick(p) is { } value) all.Add(new(value, job.JobTags));
        return all;
    }

    private static List<Measurement<T>> Stages<T>(Func<StageTotals, T> pick) where T : struct
    {
        var all = new List<Measurement<T>>();
        foreach (var job in JobMetricsRegistry.Jobs()) job.ForEachStage(s => all.Add(new(pick(s), s.Tags)));
        return all;
    }

    private static List<Measurement<long>> Latest(Func<OperatorSnapshot, long> pick, bool actorsOnly = false)
    {
        var all = new List<Measurement<long>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            job.ForEachStage(s =>
            {
                if (s.Latest is { } op && (!actorsOnly || op.Kind == "actors")) all.Add(new(pick(op), s.Tags));
            });
        }
        return all;
    }

    private static List<Measurement<long>> Actors()
    {
        var all = new List<Measurement<long>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            job.ForEachStage(s =>
            {
                if (s.Latest is not { Kind: "actors" } op) return;
                all.Add(new(op.ActorsReady - op.ActorsIdle, [.. s.Tags, new(MetricNames.StateAttribute, "busy")]));
                all.Add(new(op.ActorsIdle, [.. s.Tags, new(MetricNames.StateAttribute, "idle")]));
                all.Add(new(op.ActorsStarting, [.. s.Tags, new(MetricNames.StateAttribute, "starting")]));
            });
        }
        return all;
    }

    private static List<Measurement<long>> Decisions()
    {
        var all = new List<Measurement<long>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            job.ForEachDecision((stage, direction, n) => all.Add(new(n,
                [.. job.JobTags, new(SluiceMetrics.StageAttribute, stage), new(MetricNames.DirectionAttribute, direction)])));
        }
        return all;
    }

    private static List<Measurement<double>> DeviceBusy()
    {
        var all = new List<Measurement<double>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            var (_, busy) = job.Latest();
            for (var i = 0; i < busy.Length; i++) all.Add(new(busy[i].TotalSeconds, DeviceTags(job, i)));
        }
        return all;
    }

    private static List<Measurement<double>> DeviceAllocation()
    {
        var all = new List<Measurement<double>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            var (last, _) = job.Latest();
            for (var i = 0; i < last.DeviceAllocation.Count; i++) all.Add(new(last.DeviceAllocation[i], DeviceTags(job, i)));
        }
        return all;
    }

    private static KeyValuePair<string, object?>[] DeviceTags(JobRecorder job, int device) =>
        [.. job.JobTags, new(SluiceMetrics.NodeAttribute, job.Node), new(MetricNames.DeviceAttribute, device.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static List<Measurement<long>> NodeActors()
    {
        var all = new List<Measurement<long>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            var (last, _) = job.Latest();
            foreach (var (node, n) in last.ActorsPerNode) all.Add(new(n, [.. job.JobTags, new(SluiceMetrics.NodeAttribute, node)]));
        }
        return all;
    }

    private static List<Measurement<T>> Job<T>(Func<ExecutionSnapshot, T> pick) where T : struct
    {
        var all = new List<Measurement<T>>();
        foreach (var job in JobMetricsRegistry.Jobs())
        {
            var (last, _) = job.Latest();
            all.Add(new(pick(last), job.JobTags));
        }
        return all;
    }
}
