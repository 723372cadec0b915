using System.Globalization;

namespace Sluice.Bench;

/// <summary>
/// <c>embed</c>: on the same rows and model, (a) the model alone, (b) the Sluice job, (d) a hand-written Channels
/// pipeline, each <c>--rounds</c> times interleaved (a b d a b d …) so a noisy neighbour on this shared machine
/// lands on all of them alike, then (c) ML.NET once (it is ~7x slower and only a reference point). Each measure is
/// reported as its median and its spread (min–max); the ratios are of medians, <c>ratio: b/d</c> last.
/// </summary>
internal static class EmbedBench
{
    private const int CheckRows = 5;

    private sealed record Options(int Rows = 2000, int Batch = 32, int Actors = 2, int Rounds = 3, bool SkipMlNet = false, bool Trace = false,
        Sluice.Execution.DispatchPolicy? Dispatch = null, int? MaxConcurrency = null, int? BlockRows = null);

    public static async Task<int> RunAsync(string[] args)
    {
        if (Parse(args) is not { } o) return 2;
        var work = Path.Combine(Path.GetTempPath(), $"sluice-bench-{Environment.ProcessId}");
        var modelDir = Path.Combine(Path.GetTempPath(), "sluice-bench-models", "minilm");
        Directory.CreateDirectory(work);
        try
        {
            var data = await BenchData.LoadAsync(o.Rows, modelDir);
            var inputFile = Path.Combine(work, "input.parquet");
            data.WriteParquet(inputFile);
            var avgTokens = Enumerable.Range(0, o.Rows).Average(r => data.Mask.AsSpan(r * BenchData.MaxLength, BenchData.MaxLength).Count(1L));
            Say($"embed bench: N={o.Rows} B={o.Batch} actors={o.Actors} rounds={o.Rounds} cores={Environment.ProcessorCount} avg tokens/row={avgTokens:F1} model={data.Model.Model}");
            Say($"(b) reads with read.block_rows {(o.BlockRows is { } br ? br.ToString(CultureInfo.InvariantCulture) : "left out (sized from the job, as an untuned job is)")}; the input has row groups of {BenchData.BlockRows}");

            List<double> a = [], b = [], d = [];
            List<double> cpuA = [], cpuB = [], cpuD = [];
            float[][]? reference = null;
            for (var round = 1; round <= o.Rounds; round++)
            {
                Say($"round {round}/{o.Rounds}");
                var alone = ModelAlone.Run(data, o.Batch, o.Actors, CheckRows);
                reference ??= alone.FirstRows;
                a.Add(alone.RowsPerSecond);
                cpuA.Add(alone.Cpu.CpuSeconds);
                Say($"  (a) model alone   {alone.RowsPerSecond,7:F1} rows/s ({alone.Batches} batches in {alone.Elapsed.TotalSeconds:F2} s); {alone.Cpu}");

                var (job, jobCpu) = await RunJobAsync(data, inputFile, Path.Combine(work, $"out-{round}"), o, reference);
                b.Add(job);
                cpuB.Add(jobCpu);

                var hand = await HandWritten.RunAsync(data, inputFile, Path.Combine(work, $"hand-{round}.parquet"), o.Batch, o.Actors);
                if (hand.RowsWritten != o.Rows) throw new InvalidOperationException($"the hand-written pipeline wrote {hand.RowsWritten} rows, expected {o.Rows}");
                d.Add(hand.RowsPerSecond);
                cpuD.Add(hand.Cpu.CpuSeconds);
                Say($"  (d) hand-written  {hand.RowsPerSecond,7:F1} rows/s ({hand.Elapsed.TotalSeconds:F2} s incl. model load); {hand.Cpu}; min cosine vs (a) {MinCosine(hand.Embeddings, data, reference):F6}");
            }

            var mlnet = o.SkipMlNet ? "skipped" : RunMlNet(data, reference!);

            Console.WriteLine();
            Say($"cores={Environment.ProcessorCount}  N={o.Rows}  B={o.Batch}  actors={o.Actors}  rounds={o.Rounds} (a b d interleaved), (c) once");
            Console.WriteLine("| measurement                                   | median rows/s | spread (min–max) |");
            Console.WriteLine("|-----------------------------------------------|---------------|------------------|");
            Row("(a) MiniLM alone", a);
            Row("(b) Sluice job, whole wall time", b);
            Row("(d) hand-written Channels pipeline, whole", d);
            Say($"| {"(c) ML.NET ApplyOnnxModel (once)",-45} | {mlnet,13} | {"-",16} |");
            // On a shared machine the scheduler decides how many cores each run gets; the CPU each spends per row does not
            // depend on it, so it is printed too: the engine's own cost is b's CPU over d's (model load included in both).
            Say($"cpu ms per row (median): a {Median(cpuA) * 1000 / o.Rows:F2}, b {Median(cpuB) * 1000 / o.Rows:F2}, d {Median(cpuD) * 1000 / o.Rows:F2}; cpu b/d {Median(cpuB) / Median(cpuD):F2}");
            Say($"ratio: b/a {Median(b) / Median(a):F2} (per round: {string.Join(", ", b.Zip(a, (x, y) => (x / y).ToString("F2", CultureInfo.InvariantCulture)))})");
            Say($"ratio: b/d {Median(b) / Median(d):F2}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { }
        }
    }

    private static async Task<(double RowsPerSecond, double CpuSeconds)> RunJobAsync(BenchData data, string inputFile, string outputDir, Options o, float[][] reference)
    {
        var trace = o.Trace ? new Trace() : null;
        var job = await SluiceJob.RunAsync(data, inputFile, outputDir, o.Batch, o.Actors, trace, o.Dispatch, o.MaxConcurrency, o.BlockRows);
        if (job.RowsWritten != o.Rows) throw new InvalidOperationException($"the job wrote {job.RowsWritten} rows, expected {o.Rows}");
        Say($"  (b) Sluice job    {job.RowsPerSecond,7:F1} rows/s ({job.Elapsed.TotalSeconds:F2} s incl. model load); {job.Cpu}; min cosine vs (a) {MinCosine(job.Embeddings, data, reference):F6}");
        var active = string.Join(", ", job.Operators.Select(op => FormattableString.Invariant($"{op.Name} active {op.Busy.TotalSeconds:F2} s")));
        Say($"      actors ready at {Secs(job.AllActorsReady)}, first embed output at {Secs(job.FirstEmbedOutput)}; {Rate(job.RowsPerSecondAfterFirstOutput)} rows/s after it; {active}");
        if (trace is not null)
        {
            var end = trace.Events.Where(e => e.Actor == -1).Select(e => e.End).DefaultIfEmpty(0).Max();
            foreach (var line in trace.Summary(end)) Console.WriteLine("      trace " + line);
        }
        return (job.RowsPerSecond, job.Cpu.CpuSeconds);
    }

    private static string RunMlNet(BenchData data, float[][] reference)
    {
        Console.WriteLine("(c) ML.NET ApplyOnnxModel ...");
        try
        {
            var peer = MlNetPeer.Run(data, CheckRows);
            var cos = Enumerable.Range(0, peer.FirstRows.Length).Select(r => BenchData.Cosine(peer.FirstRows[r], reference[r])).Min();
            Say($"  (c) ML.NET        {peer.RowsPerSecond,7:F1} rows/s ({peer.Elapsed.TotalSeconds:F2} s, row by row at fixed length 128; Fit/session load {peer.Load.TotalSeconds:F2} s not counted); min cosine vs (a) {cos:F6}");
            return peer.RowsPerSecond.ToString("F1", CultureInfo.InvariantCulture);
        }
        catch (Exception e)
        {
            Console.WriteLine($"    ML.NET could not run the model: {e.GetType().Name}: {e.Message}");
            return "n/a";
        }
    }

    /// <summary>The smallest cosine between a run's first rows and the model alone's; below 0.9999 the run is wrong, not slow.</summary>
    private static double MinCosine(Dictionary<string, float[]> embeddings, BenchData data, float[][] reference)
    {
        var min = Enumerable.Range(0, reference.Length).Select(r => BenchData.Cosine(embeddings[data.Texts[r]], reference[r])).Min();
        if (min < 0.9999) throw new InvalidOperationException($"embeddings differ from the model alone's: min cosine {min:F6} < 0.9999");
        return min;
    }

    private static void Row(string name, List<double> values) =>
        Say($"| {name,-45} | {Median(values),13:F1} | {values.Min(),7:F1}–{values.Max(),-8:F1} |");

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static Options? Parse(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        var o = new Options();
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": o = o with { Rows = int.Parse(args[++i], ci) }; break;
                case "--batch": o = o with { Batch = int.Parse(args[++i], ci) }; break;
                case "--actors": o = o with { Actors = int.Parse(args[++i], ci) }; break;
                case "--rounds": o = o with { Rounds = int.Parse(args[++i], ci) }; break;
                case "--skip-mlnet": o = o with { SkipMlNet = true }; break;
                case "--trace": o = o with { Trace = true }; break;
                case "--max-concurrency": o = o with { MaxConcurrency = int.Parse(args[++i], ci) }; break;
                // The Sluice job's read.block_rows: a row count, or auto (left out: sized from the job).
                case "--block-rows": o = o with { BlockRows = args[++i] == "auto" ? null : int.Parse(args[i], ci) }; break;
                case "--least-loaded": o = o with { Dispatch = Sluice.Execution.DispatchPolicy.LeastLoaded }; break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'"); return null;
            }
        }
        if (o.Rows < 1 || o.Batch < 1 || o.Actors < 1 || o.Rounds < 1)
        {
            Console.Error.WriteLine("--rows, --batch, --actors and --rounds must be positive");
            return null;
        }
        return o;
    }

    private static string Secs(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s" : "n/a";

    private static string Rate(double? r) => r is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "n/a";

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
