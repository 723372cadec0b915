using System.Globalization;
using Sluice.Bench;

// dotnet run -c Release --project bench/Sluice.Bench -- embed --rows N [--batch 32] [--actors 2] [--skip-mlnet] [--trace] [--least-loaded] [--max-concurrency K]
// dotnet run -c Release --project bench/Sluice.Bench -- pools [--rows N]
// dotnet run -c Release --project bench/Sluice.Bench -- partition [--rows 256] [--block-rows 8] [--device-mib 32] [--gpus 4] [--skip-latency]
// dotnet run -c Release --project bench/Sluice.Bench -- partition-cpu [--rows 600] [--rounds 3]
var ci = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "pools") return await PoolsBench.RunAsync(args);
if (args.Length > 0 && args[0] == "cluster") return await ClusterBench.RunAsync(args);
if (args.Length > 0 && args[0] == "partition") return await PartitionBench.RunAsync(args);
if (args.Length > 0 && args[0] == "partition-cpu") return await PartitionCpuBench.RunAsync(args);
if (args.Length == 0 || args[0] != "embed")
{
    Console.Error.WriteLine("usage: Sluice.Bench embed [--rows 2000] [--batch 32] [--actors 2] [--skip-mlnet] [--trace] [--least-loaded] [--max-concurrency K]");
    Console.Error.WriteLine("       Sluice.Bench pools [--rows 9000] [--timeline 30]");
    Console.Error.WriteLine("       Sluice.Bench partition [--rows 256] [--block-rows 8] [--device-mib 32] [--gpus 4] [--skip-latency]");
    return 2;
}
int rows = 2000, batch = 32, actors = 2;
var skipMlNet = false;
var traceJob = false;
Sluice.Execution.DispatchPolicy? dispatch = null;
int? maxConcurrency = null;
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--rows": rows = int.Parse(args[++i], ci); break;
        case "--batch": batch = int.Parse(args[++i], ci); break;
        case "--actors": actors = int.Parse(args[++i], ci); break;
        case "--skip-mlnet": skipMlNet = true; break;
        case "--trace": traceJob = true; break;
        case "--max-concurrency": maxConcurrency = int.Parse(args[++i], ci); break;
        case "--least-loaded": dispatch = Sluice.Execution.DispatchPolicy.LeastLoaded; break;
        default: Console.Error.WriteLine($"unknown argument '{args[i]}'"); return 2;
    }
}
if (rows < 1 || batch < 1 || actors < 1)
{
    Console.Error.WriteLine("--rows, --batch and --actors must be positive");
    return 2;
}

const int CheckRows = 5;
var work = Path.Combine(Path.GetTempPath(), $"sluice-bench-{Environment.ProcessId}");
var modelDir = Path.Combine(Path.GetTempPath(), "sluice-bench-models", "minilm");
Directory.CreateDirectory(work);
try
{
    var data = await BenchData.LoadAsync(rows, modelDir);
    var inputFile = Path.Combine(work, "input.parquet");
    data.WriteParquet(inputFile);
    var avgTokens = Enumerable.Range(0, rows).Average(r => data.Mask.AsSpan(r * BenchData.MaxLength, BenchData.MaxLength).Count(1L));
    Say($"embed bench: N={rows} B={batch} actors={actors} cores={Environment.ProcessorCount} avg tokens/row={avgTokens:F1} model={data.Model.Model}");

    Console.WriteLine("(a) MiniLM alone ...");
    var alone = ModelAlone.Run(data, batch, actors, CheckRows);
    Say($"    {alone.RowsPerSecond:F1} rows/s ({alone.Batches} batches in {alone.Elapsed.TotalSeconds:F2} s); timed loop: {alone.Cpu}");

    Console.WriteLine(dispatch is null && maxConcurrency is null ? "(b) Sluice job ..." : $"(b) Sluice job (diagnostic: Dispatch = {dispatch}, embed MaxConcurrency = {maxConcurrency}) ...");
    var trace = traceJob ? new Trace() : null;
    var job = await SluiceJob.RunAsync(data, inputFile, Path.Combine(work, "out"), batch, actors, trace, dispatch, maxConcurrency);
    Say($"    {job.RowsPerSecond:F1} rows/s whole job ({job.Elapsed.TotalSeconds:F2} s incl. model load); rows written {job.RowsWritten}; whole job: {job.Cpu}");
    Say($"    embed actors all ready at {Secs(job.AllActorsReady)}, first embed output at {Secs(job.FirstEmbedOutput)}");
    Say($"    excl. load: {Rate(job.RowsPerSecondAfterActorsReady)} rows/s after all actors ready, {Rate(job.RowsPerSecondAfterFirstOutput)} rows/s after first embed output");
    foreach (var op in job.Operators)
        Say($"    op {op.Name,-12} rows {op.RowsOut,6}  active {op.Busy.TotalSeconds,6:F2} s  actors started {op.ActorsStarted}");
    if (trace is not null)
    {
        var end = trace.Events.Where(e => e.Actor == -1).Select(e => e.End).DefaultIfEmpty(0).Max();
        foreach (var line in trace.Summary(end)) Console.WriteLine("    trace " + line);
    }
    if (job.RowsWritten != rows) throw new InvalidOperationException($"the job wrote {job.RowsWritten} rows, expected {rows}");

    var cosines = Enumerable.Range(0, alone.FirstRows.Length).Select(r => BenchData.Cosine(job.Embeddings[data.Texts[r]], alone.FirstRows[r])).ToList();
    Say($"    min cosine job vs model-alone, first {cosines.Count} rows: {cosines.Min():F6} ({(cosines.Min() >= 0.9999 ? "ok" : "FAIL: below 0.9999")})");

    string mlnetCell;
    if (skipMlNet)
    {
        mlnetCell = "skipped";
    }
    else
    {
        Console.WriteLine("(c) ML.NET ApplyOnnxModel ...");
        try
        {
            var peer = MlNetPeer.Run(data, CheckRows);
            var peerCos = Enumerable.Range(0, peer.FirstRows.Length).Select(r => BenchData.Cosine(peer.FirstRows[r], alone.FirstRows[r])).Min();
            Say($"    {peer.RowsPerSecond:F1} rows/s ({peer.Elapsed.TotalSeconds:F2} s, row by row at fixed length 128, mean-pooled in C#; Fit/session load {peer.Load.TotalSeconds:F2} s not counted); min cosine vs model-alone {peerCos:F6}");
            mlnetCell = peer.RowsPerSecond.ToString("F1", ci);
        }
        catch (Exception e)
        {
            Console.WriteLine($"    ML.NET could not run the model: {e.GetType().Name}: {e.Message}");
            mlnetCell = "n/a (error above)";
        }
    }

    Console.WriteLine();
    Say($"cores={Environment.ProcessorCount}  N={rows}  B={batch}  actors={actors}");
    Console.WriteLine("| measurement                      | rows/s |");
    Console.WriteLine("|----------------------------------|--------|");
    Say($"| (a) MiniLM alone                 | {alone.RowsPerSecond,6:F1} |");
    Say($"| (b) Sluice job, whole wall time  | {job.RowsPerSecond,6:F1} |");
    Say($"| (b) Sluice job, after first out  | {Rate(job.RowsPerSecondAfterFirstOutput),6} |");
    Say($"| (c) ML.NET ApplyOnnxModel        | {mlnetCell,6} |");
    // The machine is shared: when neighbours take a core from one measurement and not the other, the
    // wall-time ratio swings. CPU seconds per row (model load, tokenize and write included for the job) do not.
    Say($"cpu per row: alone {alone.Cpu.CpuSeconds * 1000 / rows:F2} ms, job {job.Cpu.CpuSeconds * 1000 / rows:F2} ms (alone/job = {alone.Cpu.CpuSeconds / job.Cpu.CpuSeconds:F2}); cores used: alone {alone.Cpu.CpuSeconds / alone.Cpu.WallSeconds:F2}, job {job.Cpu.CpuSeconds / job.Cpu.WallSeconds:F2}");
    Say($"ratio: {job.RowsPerSecond / alone.RowsPerSecond:F2}");
    return 0;
}
finally
{
    try { Directory.Delete(work, recursive: true); }
    catch (IOException) { }
}

static string Secs(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s" : "n/a";

static string Rate(double? r) => r is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "n/a";

static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
