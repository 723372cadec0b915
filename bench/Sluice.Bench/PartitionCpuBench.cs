using System.Diagnostics;
using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Jobs;

namespace Sluice.Bench;

/// <summary>
/// <c>partition-cpu</c>: the same MiniLM job on the CPU, whole (reference) and pipeline-partitioned into 2 stages
/// (<c>partition: { stages: 2 }</c>), on the same rows, in interleaved rounds (A B A B) after one untimed warm-up of each
/// (which also writes the partition cache). Prints rows/s per round and, last, <c>ratio: pipelined/whole</c> (medians).
/// </summary>
internal static class PartitionCpuBench
{
    private const string Usage = "usage: Sluice.Bench partition-cpu [--rows 600] [--rounds 3]";

    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int rows = 600, rounds = 3;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows" when i + 1 < args.Length: rows = int.Parse(args[++i], ci); break;
                case "--rounds" when i + 1 < args.Length: rounds = int.Parse(args[++i], ci); break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'; {Usage}"); return 2;
            }
        }
        if (rows < 32 || rounds < 1)
        {
            Console.Error.WriteLine($"--rows must be at least 32 and --rounds positive; {Usage}");
            return 2;
        }
        var work = Path.Combine(Path.GetTempPath(), $"sluice-bench-partition-cpu-{Environment.ProcessId}");
        var modelDir = Path.Combine(work, "minilm");
        Directory.CreateDirectory(work);
        try
        {
            var data = await BenchData.LoadAsync(rows, modelDir);
            var input = Path.Combine(work, "input.parquet");
            data.WriteParquet(input);
            string Spec(string name, string partition) => Write(work, name, $$"""
                read: { format: parquet, path: {{input}}, block_rows: 64 }
                stages:
                  - { name: tokenize, op: bert_tokenize, vocab: {{data.Model.Vocab}} }
                  - { name: embed, op: onnx, model: {{data.Model.Model}}, pooling: mean, batch_size: 32, pool: { min: 1, max: 2 }, resources: { cpus: 1 }{{partition}} }
                write: { format: parquet, path: {{Path.Combine(work, "out-" + name)}} }
                """);
            var whole = Spec("whole", "");
            var piped = Spec("pipelined", ", partition: { stages: 2 }");
            Console.WriteLine($"partition-cpu bench: N={rows}, MiniLM on {Environment.ProcessorCount} cores, embed pool 1..2 x 1 cpu; whole vs 2 pipeline stages; {rounds} interleaved rounds after a warm-up");
            await RunAsync(whole);
            await RunAsync(piped);
            var w = new List<double>();
            var p = new List<double>();
            for (var r = 1; r <= rounds; r++)
            {
                w.Add(rows / (await RunAsync(whole)).TotalSeconds);
                p.Add(rows / (await RunAsync(piped)).TotalSeconds);
                Console.WriteLine(string.Create(ci, $"  round {r}: whole {w[^1]:F1} rows/s, pipelined {p[^1]:F1} rows/s"));
            }
            var (mw, mp) = (Median(w), Median(p));
            Console.WriteLine(string.Create(ci, $"whole (reference): median {mw:F1} rows/s (min {w.Min():F1}, max {w.Max():F1}); pipelined: median {mp:F1} rows/s (min {p.Min():F1}, max {p.Max():F1})"));
            Console.WriteLine(string.Create(ci, $"ratio: {mp / mw:F2}"));
            return 0;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { }
        }
    }

    private static async Task<TimeSpan> RunAsync(string specFile)
    {
        var spec = JobSpecParser.ParseFile(specFile);
        var clock = Stopwatch.StartNew();
        await spec.Dataset().WriteAsync(spec.Sink(), spec.Options(WriteMode.Overwrite));
        return clock.Elapsed;
    }

    private static string Write(string dir, string name, string text)
    {
        var file = Path.Combine(dir, name + ".yaml");
        File.WriteAllText(file, text);
        return file;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
