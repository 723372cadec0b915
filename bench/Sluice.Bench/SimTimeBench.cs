using System.Diagnostics;
using System.Globalization;
using Sluice.Contracts;

namespace Sluice.Bench;

/// <summary>
/// <c>simtime</c>: how exactly a simulated device is held for what a batch asks, in real time — the accuracy the
/// fake-clock tests cannot see. For each duration: the time asked, the time the device counted as held, the wall
/// time of the call, and (for contrast) a plain <c>Task.Delay</c> of the same length, which is what holds were
/// before (it fires on the kernel's coarse tick; below 1 ms it is rounded to no wait at all). Then the same with every device of a node holding at once.
/// Last line: <c>ratio: held/asked</c> over everything.
/// </summary>
internal static class SimTimeBench
{
    private static readonly double[] DurationsMs = [0.5, 1, 2, 5, 20];

    public static async Task<int> RunAsync(string[] args)
    {
        var calls = 200;
        var parallel = 8;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--calls": calls = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--devices": parallel = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'"); return 2;
            }
        }
        Say($"simtime bench: {calls} calls per duration, one after another on one device, then on {parallel} devices at once; cores={Environment.ProcessorCount}");
        // The median is shown beside the mean: on a shared machine one stalled process (100+ ms) moves a mean of 200 calls.
        Console.WriteLine("| asked ms | devices | held ms (mean) | held-asked ms (mean, median, max) | call wall ms (mean) | Task.Delay alone ms (mean) |");
        Console.WriteLine("|----------|---------|----------------|-----------------------------------|---------------------|----------------------------|");
        double asked = 0, held = 0;
        foreach (var devices in new[] { 1, parallel })
        {
            foreach (var ms in DurationsMs)
            {
                var m = await MeasureAsync(ms, devices, ms >= 20 ? calls / 4 : calls);
                asked += m.Asked;
                held += m.Held;
                Say($"| {ms,8:F1} | {devices,7} | {m.Held / m.Calls,14:F3} | {(m.Held - m.Asked) / m.Calls,12:F3}, {m.MedianOver,7:F3}, {m.WorstOver,10:F3} | {m.Wall / m.Calls,19:F3} | {m.TimerAlone,26:F3} |");
            }
        }
        Say($"held {held:F1} ms for {asked:F1} ms asked");
        Say($"ratio: held/asked {held / asked:F4}");
        return 0;
    }

    private sealed record Measure(int Calls, double Asked, double Held, double MedianOver, double WorstOver, double Wall, double TimerAlone);

    private static async Task<Measure> MeasureAsync(double ms, int devices, int calls)
    {
        var sim = new SimulatedDevices(devices);
        var duration = TimeSpan.FromMilliseconds(ms);
        var over = Enumerable.Range(0, devices).Select(_ => new List<double>(calls)).ToArray();
        var wall = new double[devices];
        var lastHeld = new double[devices];
        await Task.WhenAll(Enumerable.Range(0, devices).Select(d => Task.Run(async () =>
        {
            for (var c = 0; c < calls; c++)
            {
                var start = Stopwatch.GetTimestamp();
                await sim.RunAsync(d, duration, CancellationToken.None);
                wall[d] += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                var heldNow = sim.BusyTimes()[d].TotalMilliseconds;
                over[d].Add(heldNow - lastHeld[d] - ms);
                lastHeld[d] = heldNow;
            }
        })));
        var timer = 0.0;
        var timerCalls = Math.Min(calls, 50);
        for (var c = 0; c < timerCalls; c++)
        {
            var start = Stopwatch.GetTimestamp();
            await Task.Delay(duration);
            timer += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        var n = calls * devices;
        var all = over.SelectMany(o => o).Order().ToList();
        return new Measure(n, sim.AskedTimes().Sum(t => t.TotalMilliseconds), sim.BusyTimes().Sum(t => t.TotalMilliseconds), all[all.Count / 2], all[^1], wall.Sum(), timer / timerCalls);
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
