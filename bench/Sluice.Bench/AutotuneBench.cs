using System.Diagnostics;
using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Stats;
using Sluice.Inference;
using Sluice.IO;
using Sluice.Jobs;

namespace Sluice.Bench;

/// <summary>
/// <c>autotune</c>: jobs that leave <c>block_rows</c> out (the engine sizes blocks from the job) against the best
/// hand-tuned <c>block_rows</c> of a sweep (the reference), in one run (issue 10). Two jobs written as a user would
/// write their spec: (1) a 2,822-line text file through <c>simulate</c> 4 ms/row then 16 ms/row on 8 simulated GPUs,
/// pools (1, 8) of one GPU per actor, into a counting sink; (2) tokenize → MiniLM embed (2 actors, batch 32) over
/// one text file, into Parquet, model load included. Sweeps: block_rows 8..256 (job 1), 16..256 (job 2); one untimed
/// warm-up of each job first; the MiniLM job's runs are short (~1.5 s), so it has more rounds. Each round runs every
/// configuration once, its order rotated (and reversed every other round), so machine load falls on all alike; every
/// run's output rows are checked. Per job: median wall ms and min–max per configuration, then <c>best hand-tuned / untuned</c> (medians; 1 = autotuning matches
/// the best sweep point, below 1 = it is slower). Last line: <c>ratio: X</c>, the worse of the two jobs.
/// </summary>
internal static class AutotuneBench
{
    private const string Usage = "usage: Sluice.Bench autotune [--rows 2822] [--rounds 3] [--embed-rows 400] [--embed-rounds 5]";
    private const int Gpus = 8;
    private const double AMs = 4, BMs = 16;

    /// <summary>The configuration without <c>block_rows</c>: the engine chooses.</summary>
    private const int Untuned = 0;

    private static readonly int[] SimSweep = [8, 16, 32, 64, 128, 256];
    private static readonly int[] EmbedSweep = [16, 32, 64, 128, 256];
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        int rows = 2822, rounds = 3, embedRows = 400, embedRounds = 5;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows" when i + 1 < args.Length: rows = int.Parse(args[++i], Ci); break;
                case "--rounds" when i + 1 < args.Length: rounds = int.Parse(args[++i], Ci); break;
                case "--embed-rows" when i + 1 < args.Length: embedRows = int.Parse(args[++i], Ci); break;
                case "--embed-rounds" when i + 1 < args.Length: embedRounds = int.Parse(args[++i], Ci); break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'; {Usage}"); return 2;
            }
        }
        if (rows < 100 || embedRows < 32 || rounds < 1 || embedRounds < 1)
        {
            Console.Error.WriteLine($"--rows must be at least 100, --embed-rows at least 32, --rounds and --embed-rounds positive; {Usage}");
            return 2;
        }
        var work = Path.Combine(Path.GetTempPath(), $"sluice-bench-autotune-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            Console.WriteLine($"load average at start: {LoadAverage()}");
            var sim = await SimulateJobAsync(work, rows, rounds);
            var embed = await EmbedJobAsync(work, embedRows, embedRounds);
            Console.WriteLine();
            Console.WriteLine($"load average at end: {LoadAverage()} (the MiniLM job's times are not comparable under heavy load from other processes)");
            Console.WriteLine(sim);
            Console.WriteLine(embed);
            Say($"ratio: {Math.Min(sim.Ratio, embed.Ratio):F3}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>Job 1: the two-stage <c>simulate</c> job over one text file on 8 simulated GPUs.</summary>
    private static async Task<Outcome> SimulateJobAsync(string work, int rows, int rounds)
    {
        var input = Path.Combine(work, "lines.txt");
        var warmInput = Path.Combine(work, "warm.txt");
        await File.WriteAllLinesAsync(input, BenchData.Lines(rows));
        await File.WriteAllLinesAsync(warmInput, BenchData.Lines(rows / 10));
        string Spec(string path, int blockRows) => $$"""
            name: autotune-sim
            read: { format: text, path: {{path}}{{BlockRows(blockRows)}} }
            stages:
              - { name: A, op: simulate, per_row_ms: {{AMs}}, pool: { min: 1, max: {{Gpus}} }, resources: { gpus: 1 } }
              - { name: B, op: simulate, per_row_ms: {{BMs}}, pool: { min: 1, max: {{Gpus}} }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{Path.Combine(work, "out-sim")}} }
            execution: { sim_gpus: {{Gpus}} }
            """;

        Say($"(1) simulate job: {rows} lines of text, A {AMs} ms/row -> B {BMs} ms/row on {Gpus} simulated GPUs, pools (1, {Gpus}) x 1 GPU; device-time bound {rows * (AMs + BMs) / Gpus:F0} ms; {rounds} rounds; cores={Environment.ProcessorCount}");
        Console.WriteLine("    untuned plan: " + BlockLine(Spec(input, Untuned)));
        await RunSimAsync(Spec(warmInput, Untuned), rows / 10);
        var untuned = new List<(double LimitMs, double WallMs)>();
        var times = await SweepAsync(SimSweep, rounds, async blockRows =>
        {
            var (ms, snap) = await RunSimAsync(Spec(input, blockRows), rows);
            if (blockRows == Untuned)
            {
                var limit = snap.DeviceAsked.Sum(t => t.TotalMilliseconds) / Gpus;
                Say($"      untuned: device-time limit {limit:F0} ms (asked device time / {Gpus}), utilization {limit / ms:F3} (limit / wall {ms:F0} ms), blocks out of A {snap.Operators.First(o => o.Name == "A").BlocksOut}");
                untuned.Add((limit, ms));
            }
            return ms;
        });
        var outcome = Report("(1) simulate", times);
        var median = untuned.OrderBy(u => u.WallMs).ElementAt(untuned.Count / 2);
        Say($"    untuned, median run: device-time limit {median.LimitMs:F0} ms, wall {median.WallMs:F0} ms, utilization {median.LimitMs / median.WallMs:F3}");
        return outcome;
    }

    private static async Task<(double Ms, ExecutionSnapshot Snap)> RunSimAsync(string yaml, int rows)
    {
        var spec = JobSpecParser.Parse(yaml, "autotune-sim.yaml");
        var sink = new CountingSink();
        var clock = Stopwatch.StartNew();
        var snap = await JobExecution.Start(spec.Dataset(), sink, spec.Options()).Completion;
        var ms = clock.Elapsed.TotalMilliseconds;
        if (sink.Rows != rows) throw new InvalidOperationException($"the simulate job wrote {sink.Rows} rows, expected {rows}");
        return (ms, snap);
    }

    /// <summary>Job 2: tokenize → MiniLM embed over one text file, written to Parquet.</summary>
    private static async Task<Outcome> EmbedJobAsync(string work, int rows, int rounds)
    {
        var model = PackagedModels.ExportMiniLm(Path.Combine(work, "minilm"));
        var input = Path.Combine(work, "docs.txt");
        await File.WriteAllLinesAsync(input, BenchData.Lines(rows));
        var output = Path.Combine(work, "out-embed");
        string Spec(int blockRows) => $$"""
            name: autotune-embed
            read: { format: text, path: {{input}}{{BlockRows(blockRows)}} }
            stages:
              - { name: tokenize, op: bert_tokenize, vocab: {{model.Vocab}}, column: text, max_length: {{BenchData.MaxLength}} }
              - { name: embed, op: onnx, model: {{model.Model}}, pooling: mean, batch_size: 32, pool: { min: 2, max: 2 }, resources: { cpus: 1 } }
            write: { format: parquet, path: {{output}} }
            """;

        Console.WriteLine();
        Say($"(2) MiniLM job: {rows} lines of text, tokenize -> embed (2 actors x 1 cpu, batch 32) -> Parquet, model load included; {rounds} rounds after a warm-up");
        Console.WriteLine("    untuned plan: " + BlockLine(Spec(Untuned)));
        await RunEmbedAsync(Spec(Untuned), output, rows);
        var times = await SweepAsync(EmbedSweep, rounds, blockRows => RunEmbedAsync(Spec(blockRows), output, rows));
        return Report("(2) MiniLM", times);
    }

    private static async Task<double> RunEmbedAsync(string yaml, string output, int rows)
    {
        var spec = JobSpecParser.Parse(yaml, "autotune-embed.yaml");
        var clock = Stopwatch.StartNew();
        await spec.Dataset().WriteAsync(spec.Sink(), spec.Options(WriteMode.Overwrite));
        var ms = clock.Elapsed.TotalMilliseconds;
        long written = 0;
        await foreach (var batch in Read.Parquet(output).IterateBatchesAsync()) written += batch.Length;
        if (written != rows) throw new InvalidOperationException($"the MiniLM job wrote {written} rows, expected {rows}");
        return ms;
    }

    /// <summary>
    /// Runs untuned (<see cref="Untuned"/>) and every sweep point once per round, the order rotated by one each
    /// round and reversed every other round; returns each configuration's wall times, untuned first.
    /// </summary>
    private static async Task<Dictionary<int, List<double>>> SweepAsync(int[] sweep, int rounds, Func<int, Task<double>> run)
    {
        int[] configs = [Untuned, .. sweep];
        var times = configs.ToDictionary(c => c, _ => new List<double>());
        for (var r = 0; r < rounds; r++)
        {
            var line = new List<string>();
            for (var k = 0; k < configs.Length; k++)
            {
                // Rotated by one each round and reversed every other round, so no configuration always follows the same one.
                var config = configs[(r % 2 == 0 ? k + r : configs.Length - 1 - k + r) % configs.Length];
                var ms = await run(config);
                times[config].Add(ms);
                line.Add(string.Create(Ci, $"{Name(config)} {ms:F0}"));
            }
            Console.WriteLine($"    round {r + 1} (ms): " + string.Join(", ", line));
        }
        return times;
    }

    private static Outcome Report(string job, Dictionary<int, List<double>> times)
    {
        Console.WriteLine($"    {job} job, wall ms per run:");
        Console.WriteLine("      config            median   spread (min-max)");
        foreach (var (config, ms) in times)
            Say($"      {Name(config),-16}{Median(ms),8:F0}   {ms.Min():F0}-{ms.Max():F0}");
        var best = times.Where(t => t.Key != Untuned).MinBy(t => Median(t.Value));
        return new Outcome(job, best.Key, Median(best.Value), Median(times[Untuned]));
    }

    /// <summary>What the planner says about the untuned job's blocks (<c>explain</c>'s block lines).</summary>
    private static string BlockLine(string yaml)
    {
        var spec = JobSpecParser.Parse(yaml, "autotune.yaml");
        var plan = JobExecution.Explain(spec.Dataset(), new CountingSink(), spec.Options());
        var lines = plan.Split('\n').Select(l => l.Trim()).Where(l => l.Contains("rows per block", StringComparison.Ordinal) || l.StartsWith("block size:", StringComparison.Ordinal));
        return string.Join(" | ", lines);
    }

    private static string BlockRows(int blockRows) => blockRows == Untuned ? "" : string.Create(Ci, $", block_rows: {blockRows}");

    private static string Name(int blockRows) => blockRows == Untuned ? "untuned" : string.Create(Ci, $"block_rows {blockRows}");

    /// <summary>The 1, 5 and 15 minute load averages (Linux), so a reader can tell a quiet run from a loaded one.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));

    /// <summary>A job's best sweep point and the medians compared: <see cref="Ratio"/> = best / untuned wall time.</summary>
    private sealed record Outcome(string Job, int Best, double BestMs, double UntunedMs)
    {
        public double Ratio => BestMs / UntunedMs;

        public override string ToString() => FormattableString.Invariant(
            $"{Job} job: best hand-tuned (block_rows {Best}) {BestMs:F0} ms / untuned {UntunedMs:F0} ms = {Ratio:F3}");
    }
}
