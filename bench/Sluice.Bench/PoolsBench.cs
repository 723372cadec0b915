using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>pools</c>: elastic actor pools on 8 simulated GPUs (issue 3, benchmarks a-d), in one process:
/// (a) autoscaled A (1 ms/row) -> B (4 ms/row) vs the best static split (k, 8-k);
/// (b) steady-state utilization of B's devices; (c) most-recently-used vs least-loaded dispatch when
/// the load drops; (d) time from start to full utilization. Last line: <c>ratio: X.XX</c> = (a).
/// </summary>
internal static class PoolsBench
{
    private const int Gpus = 8;
    private const int BlockRows = 32;
    private const int ReadTasks = 4;
    private const double AMs = 1, BMs = 4;

    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int rows = 9_000;
        var timeline = 30;
        var dispatchOnly = 0;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": rows = int.Parse(args[++i], ci); break;
                case "--timeline": timeline = int.Parse(args[++i], ci); break;
                case "--dispatch-only": dispatchOnly = int.Parse(args[++i], ci); break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: Sluice.Bench pools [--rows 9000] [--timeline 30] [--dispatch-only K]"); return 2;
            }
        }
        if (rows < 100)
        {
            Console.Error.WriteLine("--rows must be at least 100");
            return 2;
        }
        var node = new NodeResources(Environment.ProcessorCount, 0, 8L << 30).WithSimulatedGpus(Gpus);
        if (dispatchOnly > 0)
        {
            for (var i = 0; i < dispatchOnly; i++)
            {
                foreach (var policy in new[] { DispatchPolicy.MostRecentlyUsed, DispatchPolicy.LeastLoaded })
                {
                    var d = await RunDispatchAsync(policy, node);
                    Say($"    {d.Describe()}");
                    Console.WriteLine("      low-phase device sequence: " + d.Sequence);
                }
            }
            return 0;
        }
        var idealRate = Gpus / ((AMs + BMs) / 1000);
        Say($"pools bench: N={rows} block_rows={BlockRows} read tasks={ReadTasks} cores={Environment.ProcessorCount} node: {node}");
        Say($"A simulate {AMs} ms/row -> B simulate {BMs} ms/row, gpus 1 per actor, batch = block, max_concurrency 2; device-time bound {idealRate:F0} rows/s");

        // (a) autoscaled, then the static sweep.
        Console.WriteLine("(a) autoscaled pools A (1,8), B (1,8) ...");
        var auto = await RunPipelineAsync(rows, new PoolSize(1, Gpus), new PoolSize(1, Gpus), node);
        Say($"    autoscaled: {auto.RowsPerSecond:F1} rows/s ({auto.WallMs / 1000:F2} s, {auto.SinkRows} rows)");
        // (b) and (d) from the autoscaled run's samples and device log.
        var steady = Steady.Of(auto, rows);
        Console.WriteLine("(b) steady state of the autoscaled run (B rows 25%..85%) ...");
        Say($"    window {steady.From:F0}..{steady.To:F0} ms ({steady.To - steady.From:F0} ms); B actors ready {steady.BReady}; A actors ready {steady.AReady}");
        Say($"    B's devices (device log: held by a B actor, busy with B batches): utilization {steady.BUtil:F3} ({steady.BBusy:F0} ms busy of {steady.BHeld:F0} ms held, {steady.BHeld / (steady.To - steady.From):F2} devices on average)");
        Say($"    B's devices (snapshots every ~50 ms: DeviceBusy deltas on devices B held at both ends of a sample gap): utilization {steady.BUtilSnap:F3}");
        Say($"    all {Gpus} devices in the window: utilization {steady.AllUtil:F3} (device log), {steady.AllUtilSnap:F3} (snapshot DeviceBusy); whole run {auto.Log.BusyWithin(0, auto.WallMs) / (Gpus * auto.WallMs):F3}");
        Say($"    B's rate in the window {steady.BRate:F1} rows/s; A's {steady.ARate:F1} rows/s");

        Console.WriteLine("(d) time to full utilization (autoscaled run) ...");
        var full = FullUtilization.Of(auto, steady.To);
        Say($"    all {Gpus} devices allocated: first at {Ms(full.FirstAllocated)}, allocated and staying so (until B's 85%) from {Ms(full.AllocatedStays)}");
        Say($"    100 ms device utilization > 0.9: first at {Ms(full.FirstBusy90)}; staying > 0.9 (until B's 85%) from {Ms(full.Busy90Stays)}");
        var finalA = auto.Samples[^1].Op("A");
        var finalB = auto.Samples[^1].Op("B");
        Say($"    actors started over the run (churn): A {finalA?.ActorsStarted} (peak {finalA?.PeakActors}), B {finalB?.ActorsStarted} (peak {finalB?.PeakActors})");
        Say($"    A done at {Ms(auto.DoneMs("A"))}, B done at {Ms(auto.DoneMs("B"))}; tail after A done: {(auto.DoneMs("A") is { } ad ? $"{auto.WallMs - ad:F0} ms" : "n/a")}");

        if (timeline > 0)
        {
            Console.WriteLine("    autoscaled timeline (lines where pool sizes or targets change):");
            foreach (var line in Timeline(auto, timeline)) Console.WriteLine("      " + line);
            if (auto.At(steady.From) is { } mid)
            {
                Say($"      at {mid.Ms:F0} ms A target reason: {mid.Op("A")?.TargetReason}");
                Say($"      at {mid.Ms:F0} ms B target reason: {mid.Op("B")?.TargetReason}");
            }
        }

        Console.WriteLine("(a) static splits (k, 8-k), pool min = max = initial ...");
        var statics = new List<(int K, PipelineRun Run)>();
        for (var k = 1; k < Gpus; k++)
        {
            var run = await RunPipelineAsync(rows, new PoolSize(k, k, k), new PoolSize(Gpus - k, Gpus - k, Gpus - k), node);
            statics.Add((k, run));
            Say($"    static A={k} B={Gpus - k}: {run.RowsPerSecond,7:F1} rows/s ({run.WallMs / 1000:F2} s)");
        }
        var best = statics.MaxBy(s => s.Run.RowsPerSecond);
        var ratio = auto.RowsPerSecond / best.Run.RowsPerSecond;
        Say($"    best static: A={best.K} B={Gpus - best.K} {best.Run.RowsPerSecond:F1} rows/s; autoscaled/best = {ratio:F3}");
        foreach (var r in statics.Select(s => s.Run).Prepend(auto))
        {
            if (r.SinkRows != rows) throw new InvalidOperationException($"a run wrote {r.SinkRows} rows, expected {rows}");
        }

        // (c) dispatch policies.
        Console.WriteLine("(c) dispatch: one simulate stage (1 ms/row, pool (1,8), idle timeout 1 s); 300 blocks at once, then 200 blocks one per 20 ms ...");
        var mru = await RunDispatchAsync(DispatchPolicy.MostRecentlyUsed, node);
        var ll = await RunDispatchAsync(DispatchPolicy.LeastLoaded, node);
        foreach (var d in new[] { mru, ll })
        {
            Say($"    {d.Describe()}");
            Console.WriteLine("      first low-phase batches, device@ms: " + string.Join(" ", d.Sequence.Split(' ').Take(16)));
        }

        Console.WriteLine();
        Say($"N={rows}  gpus={Gpus} (simulated)  cores={Environment.ProcessorCount}");
        Console.WriteLine("| measurement                                   | value            |");
        Console.WriteLine("|-----------------------------------------------|------------------|");
        Say($"| (a) autoscaled A(1,8) B(1,8)                  | {auto.RowsPerSecond,8:F1} rows/s  |");
        foreach (var (k, run) in statics) Say($"| (a) static A={k} B={Gpus - k}                            | {run.RowsPerSecond,8:F1} rows/s  |");
        Say($"| (a) best static (A={best.K} B={Gpus - best.K})                     | {best.Run.RowsPerSecond,8:F1} rows/s  |");
        Say($"| (a) autoscaled / best static                  | {ratio,8:F3}         |");
        Say($"| (b) B's devices utilization, steady state     | {steady.BUtil,8:F3}         |");
        Say($"| (b) all devices utilization, steady state     | {steady.AllUtil,8:F3}         |");
        Say($"| (c) MRU: high-phase throughput                | {mru.HighRate,8:F1} rows/s  |");
        Say($"| (c) MRU: actors ready at end of low phase     | {mru.ReadyAtLowEnd,8} of {mru.ReadyAtLowStart,-2}   |");
        Say($"| (c) MRU: actors released during low phase     | {mru.Released,8}         |");
        Say($"| (c) LL:  high-phase throughput                | {ll.HighRate,8:F1} rows/s  |");
        Say($"| (c) LL:  actors ready at end of low phase     | {ll.ReadyAtLowEnd,8} of {ll.ReadyAtLowStart,-2}   |");
        Say($"| (c) LL:  actors released during low phase     | {ll.Released,8}         |");
        Say($"| (d) all devices allocated (and staying)       | {Ms(full.AllocatedStays),13}    |");
        Say($"| (d) 100 ms utilization first > 0.9            | {Ms(full.FirstBusy90),13}    |");
        Say($"ratio: {ratio:F2}");
        return 0;
    }

    private static async Task<PipelineRun> RunPipelineAsync(int rows, PoolSize a, PoolSize b, NodeResources node)
    {
        var log = new DeviceLog(Gpus);
        var ds = Dataset.Range(rows, new ReadOptions { BlockRows = BlockRows }, tasks: ReadTasks)
            .MapBatches(() => new TrackedSimulate(new SimulateOptions(PerRowMs: AMs), log, "A"), "simulate",
                new MapBatchesOptions { Name = "A", Pool = a, Resources = new ResourceRequest(Gpus: 1), MaxConcurrency = 2 })
            .MapBatches(() => new TrackedSimulate(new SimulateOptions(PerRowMs: BMs), log, "B"), "simulate",
                new MapBatchesOptions { Name = "B", Pool = b, Resources = new ResourceRequest(Gpus: 1), MaxConcurrency = 2 });
        var sink = new CountingSink { Clock = log };
        var (samples, wall) = await SampleAsync(ds, sink, new ExecutionOptions { Resources = node }, log);
        return new PipelineRun(samples, log, wall, sink.Rows);
    }

    private static async Task<(List<PoolSample> Samples, double WallMs)> SampleAsync(Dataset ds, Datasink sink, ExecutionOptions options, DeviceLog log)
    {
        var samples = new List<PoolSample>();
        log.T0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var job = JobExecution.Start(ds, sink, options);
        while (!job.Completion.IsCompleted)
        {
            samples.Add(new(log.Now, job.Snapshot, log.Owners()));
            await Task.WhenAny(job.Completion, Task.Delay(50));
        }
        var final = await job.Completion;
        var wall = log.Now;
        samples.Add(new(wall, final, log.Owners()));
        return (samples, wall);
    }

    private static async Task<DispatchRun> RunDispatchAsync(DispatchPolicy policy, NodeResources node)
    {
        const int High = 300, Low = 200;
        var log = new DeviceLog(Gpus);
        var source = new PhasedSource(High, Low, BlockRows, TimeSpan.FromMilliseconds(20), log);
        var sink = new CountingSink(signalAt: (long)High * BlockRows) { Clock = log };
        _ = sink.Reached.Task.ContinueWith(_ => source.StartLow.TrySetResult(), TaskScheduler.Default);
        var ds = Dataset.Read(source, new ReadOptions { BlockRows = BlockRows })
            .MapBatches(() => new TrackedSimulate(new SimulateOptions(PerRowMs: 1), log, "S"), "simulate",
                new MapBatchesOptions { Name = "S", Pool = new PoolSize(1, Gpus), Resources = new ResourceRequest(Gpus: 1), MaxConcurrency = 2 });
        var (samples, wall) = await SampleAsync(ds, sink, new ExecutionOptions { Resources = node, Dispatch = policy, ActorIdleTimeout = TimeSpan.FromSeconds(1) }, log);
        if (sink.Rows != (long)(High + Low) * BlockRows) throw new InvalidOperationException($"dispatch run wrote {sink.Rows} rows");
        var highEnd = await sink.Reached.Task;
        var lowStart = source.LowStartMs;
        var lowEnd = source.LowEndMs;
        var inLow = samples.Where(s => s.Ms >= lowStart && s.Ms <= lowEnd).ToList();
        var first = inLow[0].Op("S")!;
        var last = inLow[^1].Op("S")!;
        var started = last.ActorsStarted - first.ActorsStarted;
        var lastSecond = Enumerable.Range(0, Gpus).Select(d => log.BusyWithin(d, lowEnd - 1000, lowEnd)).Where(b => b > 0).OrderDescending().ToList();
        var highPeak = samples.Where(s => s.Ms <= highEnd).Max(s => s.Op("S")?.ActorsReady ?? 0);
        return new DispatchRun(policy, High * BlockRows / (highEnd / 1000), highPeak, first.ActorsReady, last.ActorsReady,
            inLow.Min(s => s.Op("S")!.ActorsReady), started, first.ActorsReady + started - last.ActorsReady,
            Low * BlockRows / ((lowEnd - lowStart) / 1000), lastSecond, last.LastScaling, wall)
        {
            Sequence = string.Join(" ", log.BusyIntervals.Where(b => b.Start >= lowStart).OrderBy(b => b.Start).Take(40)
                .Select(b => FormattableString.Invariant($"{b.Device}@{b.Start - lowStart:F0}"))),
        };
    }

    private static IEnumerable<string> Timeline(PipelineRun run, int max)
    {
        string? previous = null;
        var lines = new List<string>();
        foreach (var s in run.Samples)
        {
            var a = s.Op("A");
            var b = s.Op("B");
            if (a is null || b is null) continue;
            var key = $"A {a.ActorsReady}+{a.ActorsStarting} t{a.Target} | B {b.ActorsReady}+{b.ActorsStarting} t{b.Target} | {a.LastScaling} | {b.LastScaling}";
            if (key == previous) continue;
            previous = key;
            var alloc = s.Snap.DeviceAllocation.Sum();
            lines.Add(FormattableString.Invariant(
                $"{s.Ms,6:F0} ms alloc {alloc:0.#} | A ready {a.ActorsReady}+{a.ActorsStarting} starting, target {a.Target}, rows {a.RowsOut}, last '{a.LastScaling}' | B ready {b.ActorsReady}+{b.ActorsStarting} starting, target {b.Target}, rows {b.RowsOut}, last '{b.LastScaling}'"));
        }
        if (lines.Count <= max) return lines;
        return lines.Take(max - 5).Append($"... {lines.Count - max + 1} more changes ...").Concat(lines.TakeLast(4));
    }

    private static string Ms(double? ms) => ms is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) + " ms" : "never";

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));

    internal sealed record PipelineRun(List<PoolSample> Samples, DeviceLog Log, double WallMs, long SinkRows)
    {
        public double RowsPerSecond => SinkRows / (WallMs / 1000);

        /// <summary>The first sample at or after <paramref name="ms"/>.</summary>
        public PoolSample? At(double ms) => Samples.FirstOrDefault(s => s.Ms >= ms);

        public double? DoneMs(string op) => Samples.FirstOrDefault(s => s.Op(op)?.Done == true)?.Ms;
    }

    private sealed record Steady(double From, double To, string AReady, string BReady, double BHeld, double BBusy, double BUtil, double BUtilSnap,
        double AllUtil, double AllUtilSnap, double BRate, double ARate)
    {
        public static Steady Of(PipelineRun run, int rows)
        {
            var s25 = run.Samples.First(s => (s.Op("B")?.RowsOut ?? 0) >= rows * 0.25);
            var s85 = run.Samples.First(s => (s.Op("B")?.RowsOut ?? 0) >= rows * 0.85);
            var from = s25.Ms;
            var to = s85.Ms;
            var (held, busy) = run.Log.StageWithin("B", from, to);
            var window = run.Samples.Where(s => s.Ms >= from && s.Ms <= to).ToList();
            double snapBusy = 0, snapHeld = 0;
            for (var i = 1; i < window.Count; i++)
            {
                var p = window[i - 1];
                var c = window[i];
                var dt = (c.Snap.Elapsed - p.Snap.Elapsed).TotalMilliseconds;
                for (var d = 0; d < Gpus; d++)
                {
                    if (p.Owners[d] != "B" || c.Owners[d] != "B" || d >= c.Snap.DeviceBusy.Count || d >= p.Snap.DeviceBusy.Count) continue;
                    snapBusy += (c.Snap.DeviceBusy[d] - p.Snap.DeviceBusy[d]).TotalMilliseconds;
                    snapHeld += dt;
                }
            }
            var allSnap = (s85.Snap.DeviceBusy.Sum(t => t.TotalMilliseconds) - s25.Snap.DeviceBusy.Sum(t => t.TotalMilliseconds))
                / (Gpus * (s85.Snap.Elapsed - s25.Snap.Elapsed).TotalMilliseconds);
            var secs = (to - from) / 1000;
            return new Steady(from, to, Range(window, "A"), Range(window, "B"), held, busy, held > 0 ? busy / held : 0, snapHeld > 0 ? snapBusy / snapHeld : 0,
                run.Log.BusyWithin(from, to) / (Gpus * (to - from)), allSnap,
                (s85.Op("B")!.RowsOut - s25.Op("B")!.RowsOut) / secs, (s85.Op("A")!.RowsOut - s25.Op("A")!.RowsOut) / secs);
        }

        private static string Range(List<PoolSample> window, string op)
        {
            var ready = window.Select(s => s.Op(op)?.ActorsReady ?? 0).ToList();
            return ready.Count == 0 ? "n/a" : FormattableString.Invariant($"min {ready.Min()} avg {ready.Average():F2} max {ready.Max()}");
        }
    }

    private sealed record FullUtilization(double? FirstAllocated, double? AllocatedStays, double? FirstBusy90, double? Busy90Stays)
    {
        public static FullUtilization Of(PipelineRun run, double until)
        {
            var upTo = run.Samples.Where(s => s.Ms <= until).ToList();
            bool Full(PoolSample s) => s.Snap.DeviceAllocation.Sum() >= Gpus - 1e-6;
            var firstAllocated = upTo.FirstOrDefault(Full)?.Ms;
            double? stays = null;
            for (var i = upTo.Count - 1; i >= 0 && Full(upTo[i]); i--) stays = upTo[i].Ms;
            // Utilization over the 100 ms before t, on a 10 ms grid, from the device log (exact busy intervals).
            double? firstBusy = null, busyStays = null;
            for (var t = 100.0; t <= until; t += 10)
            {
                var u = run.Log.BusyWithin(t - 100, t) / (Gpus * 100.0);
                if (u > 0.9)
                {
                    firstBusy ??= t;
                    busyStays ??= t;
                }
                else
                {
                    busyStays = null;
                }
            }
            return new FullUtilization(firstAllocated, stays, firstBusy, busyStays);
        }
    }

    private sealed record DispatchRun(DispatchPolicy Policy, double HighRate, int HighPeak, int ReadyAtLowStart, int ReadyAtLowEnd, int MinReadyInLow,
        int StartedInLow, int Released, double LowRate, List<double> LastSecondBusy, string? LastScaling, double WallMs)
    {
        public string Sequence { get; init; } = "";

        public string Describe() => FormattableString.Invariant(
            $"{Policy,-17}: high phase {HighRate:F1} rows/s (peak {HighPeak} actors); low phase {LowRate:F0} rows/s offered: actors ready {ReadyAtLowStart} at its start -> {ReadyAtLowEnd} at its end (min {MinReadyInLow}), started {StartedInLow}, released {Released}; devices busy in its last 1 s: {LastSecondBusy.Count} ({string.Join("/", LastSecondBusy.Select(b => b.ToString("F0", CultureInfo.InvariantCulture)))} ms); last scaling '{LastScaling}'");
    }
}
