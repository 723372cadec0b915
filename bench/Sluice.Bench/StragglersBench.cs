using System.Diagnostics;
using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.IO;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>stragglers</c>: speculative execution's gain (issue 12 item 1). One job — Range → <c>simulate</c> on N simulated
/// GPUs where a share of the batches (drawn at random per call) holds its device a factor longer — run with speculation
/// off (A) and on (B), interleaved A B A B over rounds so that the machine's noise falls on both alike. Prints each
/// configuration's median and min–max wall time, the backups launched and won, and last <c>ratio: X</c> = median time
/// without speculation / median time with it (above 1: speculation gains).
/// </summary>
internal static class StragglersBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int rows = 24_000, blockRows = 100, gpus = 8, rounds = 3, maxConcurrency = 1;
        double perRowMs = 2, slowFraction = 0.05, slowFactor = 10, minS = 0.5;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": rows = int.Parse(args[++i], ci); break;
                case "--block-rows": blockRows = int.Parse(args[++i], ci); break;
                case "--gpus": gpus = int.Parse(args[++i], ci); break;
                case "--rounds": rounds = int.Parse(args[++i], ci); break;
                case "--max-concurrency": maxConcurrency = int.Parse(args[++i], ci); break;
                case "--per-row-ms": perRowMs = double.Parse(args[++i], ci); break;
                case "--slow-fraction": slowFraction = double.Parse(args[++i], ci); break;
                case "--slow-factor": slowFactor = double.Parse(args[++i], ci); break;
                case "--min-s": minS = double.Parse(args[++i], ci); break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: {Usage}");
                    return 2;
            }
        }
        var node = new NodeResources(Environment.ProcessorCount, 0, 8L << 30).WithSimulatedGpus(gpus);
        var speculation = new SpeculationOptions { Floor = TimeSpan.FromSeconds(minS) };
        var batchMs = perRowMs * blockRows;
        Say($"stragglers bench: {rows} rows in blocks of {blockRows} on {gpus} simulated GPUs (max_concurrency {maxConcurrency}); a batch holds its device {batchMs:F0} ms, a share {slowFraction} of batches {slowFactor}x longer");
        Say($"speculation on: multiplier {speculation.Multiplier}, min_s {minS} (threshold {speculation.Threshold(TimeSpan.FromMilliseconds(batchMs * maxConcurrency)).TotalSeconds:F2} s at the median batch); device-time bound {rows * perRowMs * (1 + slowFraction * (slowFactor - 1)) / gpus / 1000:F2} s");
        var off = new List<double>();
        var on = new List<double>();
        long launched = 0, won = 0;
        for (var r = 0; r < rounds; r++)
        {
            foreach (var enabled in new[] { false, true })
            {
                var (seconds, backups, wins) = await RunOnceAsync(rows, blockRows, gpus, maxConcurrency, new SimulateOptions(PerRowMs: perRowMs, SlowFraction: slowFraction, SlowFactor: slowFactor),
                    node, speculation with { Enabled = enabled });
                (enabled ? on : off).Add(seconds);
                if (enabled)
                {
                    launched += backups;
                    won += wins;
                }
                Say($"  round {r + 1} speculation {(enabled ? "on " : "off")}: {seconds:F2} s, backups launched {backups}, won {wins}");
            }
        }
        Say($"speculation off: median {Median(off):F2} s (min-max {off.Min():F2}-{off.Max():F2})");
        Say($"speculation on:  median {Median(on):F2} s (min-max {on.Min():F2}-{on.Max():F2}); backups launched {launched}, won {won} over {rounds} runs");
        Say($"ratio: {Median(off) / Median(on):F2}");
        return 0;
    }

    public const string Usage = "Sluice.Bench stragglers [--rows 24000] [--block-rows 100] [--gpus 8] [--rounds 3] [--max-concurrency 1] [--per-row-ms 2] [--slow-fraction 0.05] [--slow-factor 10] [--min-s 0.5]";

    /// <summary>One run, written to Parquet in a temporary directory; checks the output has every row exactly once.</summary>
    private static async Task<(double Seconds, long Backups, long Won)> RunOnceAsync(int rows, int blockRows, int gpus, int maxConcurrency, SimulateOptions simulate,
        NodeResources node, SpeculationOptions speculation)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-stragglers-{Guid.NewGuid():N}");
        try
        {
            var ds = Dataset.Range(rows, new ReadOptions { BlockRows = blockRows }, tasks: 4)
                .MapBatches<SimulateProcessor, SimulateOptions>(simulate,
                    new MapBatchesOptions { Name = "model", Pool = new PoolSize(gpus, gpus), MaxConcurrency = maxConcurrency, Resources = new ResourceRequest(Gpus: 1) });
            var clock = Stopwatch.StartNew();
            var stats = await ds.WriteAsync(Sinks.Parquet(dir), new ExecutionOptions { Resources = node, WriteMode = WriteMode.Overwrite, Speculation = speculation });
            var seconds = clock.Elapsed.TotalSeconds;
            var written = await Read.Parquet(dir).CountAsync(new ExecutionOptions());
            if (written != rows) throw new InvalidOperationException($"the output holds {written} rows, not {rows}: exactly-once broken");
            var model = stats.Operators.Single(o => o.Name == "model");
            return (seconds, model.BackupsLaunched, model.BackupsWon);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
