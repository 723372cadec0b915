using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Sluice.Cluster;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Inference;
using Sluice.IO;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>cluster</c>: cluster mode on one machine, with its own <c>redis-server</c> and worker processes (issue 4):
/// (a) a simulated-GPU job on 1 vs 3 worker processes (2 simulated GPUs each): throughput ratio;
/// (b) the real MiniLM job embedded vs on a one-worker cluster (worker --cpus 2, the driver hosts no actors);
/// (c) bytes moved between nodes in (b) vs bytes its stages produced. Last line: <c>ratio: X.XX</c> = (a).
/// </summary>
internal static class ClusterBench
{
    private const int SimBlockRows = 100;
    private const int SimGpusPerWorker = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int simRows = 12_000, miniRows = 2000;
        double perRowMs = 4;
        var skipMiniLm = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": simRows = int.Parse(args[++i], ci); break;
                case "--per-row-ms": perRowMs = double.Parse(args[++i], ci); break;
                case "--minilm-rows": miniRows = int.Parse(args[++i], ci); break;
                case "--skip-minilm": skipMiniLm = true; break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: Sluice.Bench cluster [--rows 12000] [--per-row-ms 4] [--minilm-rows 2000] [--skip-minilm]");
                    return 2;
            }
        }
        if (simRows < 1000 || miniRows < 1 || perRowMs <= 0)
        {
            Console.Error.WriteLine("--rows must be at least 1000, --minilm-rows and --per-row-ms positive");
            return 2;
        }
        var work = Path.Combine(Path.GetTempPath(), $"sluice-bench-cluster-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            Say($"cluster bench: cores={Environment.ProcessorCount}; every node is a process on this machine, membership in a local redis-server");

            // (a) simulated GPUs: 1 worker, then 2 more join the same cluster.
            Say($"(a) simulate {perRowMs} ms/row, gpus 1 per actor, N={simRows}, blocks of {SimBlockRows} rows; workers --cpus 1 --sim-gpus {SimGpusPerWorker}");
            SimResult one, three;
            using (var redis = await BenchRedis.StartAsync())
            {
                var workers = new List<BenchWorker>();
                try
                {
                    workers.Add(await BenchWorker.StartAsync(redis.Uri, "sim-w0", "--cpus", "1", "--sim-gpus", $"{SimGpusPerWorker}"));
                    await using var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = "bench-driver-a" });
                    await runtime.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
                    // Warm-up (JIT, grain activation paths), not measured.
                    await SimJobAsync(runtime, 1, Math.Max(600, simRows / 20), perRowMs, Path.Combine(work, "sim-warm"));
                    one = await SimJobAsync(runtime, 1, simRows, perRowMs, Path.Combine(work, "sim-1"));
                    Say($"    1 worker : {one.Describe(SimGpusPerWorker, perRowMs)}");
                    workers.AddRange(await Task.WhenAll(BenchWorker.StartAsync(redis.Uri, "sim-w1", "--cpus", "1", "--sim-gpus", $"{SimGpusPerWorker}"),
                        BenchWorker.StartAsync(redis.Uri, "sim-w2", "--cpus", "1", "--sim-gpus", $"{SimGpusPerWorker}")));
                    await runtime.WaitForWorkersAsync(3, TimeSpan.FromSeconds(60));
                    three = await SimJobAsync(runtime, 3, simRows, perRowMs, Path.Combine(work, "sim-3"));
                    Say($"    3 workers: {three.Describe(3 * SimGpusPerWorker, perRowMs)}");
                }
                finally
                {
                    foreach (var w in workers) w.Dispose();
                }
            }
            var ratioA = three.RowsPerSecond / one.RowsPerSecond;
            Say($"    (a) 3 workers / 1 worker = {ratioA:F2} (acceptance >= 2.7; device-time bound 3.00)");

            MiniResult? embedded = null, clustered = null;
            if (!skipMiniLm)
            {
                // (b) the real MiniLM job, embedded vs on a one-worker cluster.
                var data = await BenchData.LoadAsync(miniRows, Path.Combine(Path.GetTempPath(), "sluice-bench-models", "minilm"));
                var input = Path.Combine(work, "input.parquet");
                data.WriteParquet(input);
                Say($"(b) MiniLM: read Parquet -> bert_tokenize -> onnx mean pooling (2 actors x 1 cpu, batch 32) -> write Parquet; N={miniRows}");
                embedded = await MiniLmJobAsync(data, input, Path.Combine(work, "mini-embedded"), runtime: null);
                Say($"    embedded          : {embedded.Describe()}");
                using var redis = await BenchRedis.StartAsync();
                using var worker = await BenchWorker.StartAsync(redis.Uri, "mini-w0", "--cpus", "2");
                await using var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = "bench-driver-b" });
                await runtime.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
                var movedBefore = await runtime.BytesMovedAsync();
                clustered = await MiniLmJobAsync(data, input, Path.Combine(work, "mini-cluster"), runtime);
                clustered = clustered with { BytesMoved = await runtime.BytesMovedAsync() - movedBefore, DriverFetched = runtime.BytesFetched };
                Say($"    one-worker cluster: {clustered.Describe()}");
                var cosine = embedded.Embeddings.Keys.Take(200).Select(k => BenchData.Cosine(embedded.Embeddings[k], clustered.Embeddings[k])).Min();
                Say($"    min cosine cluster vs embedded over 200 texts: {cosine:F6} ({(cosine >= 0.9999 ? "ok" : "FAIL")}); rows written {embedded.RowsWritten} / {clustered.RowsWritten}");
                Say($"    (b) cluster / embedded = {clustered.RowsPerSecond / embedded.RowsPerSecond:F2} (acceptance >= 0.9)");
                Say($"(c) bytes moved between nodes in (b): {clustered.BytesMoved:N0} (driver fetched {clustered.DriverFetched:N0}); produced by the stages: {clustered.BytesProduced:N0} = {(double)clustered.BytesMoved / clustered.BytesProduced:F2} of produced");
                foreach (var (name, bytes) in clustered.PerStage) Say($"    {name,-40} produced {bytes,14:N0} bytes");
            }

            Console.WriteLine();
            Console.WriteLine("| measurement                                   | value            |");
            Console.WriteLine("|-----------------------------------------------|------------------|");
            Say($"| (a) simulated GPUs, 1 worker (2 GPUs)         | {one.RowsPerSecond,10:F1} rows/s |");
            Say($"| (a) simulated GPUs, 3 workers (6 GPUs)        | {three.RowsPerSecond,10:F1} rows/s |");
            Say($"| (a) ratio 3 workers / 1 worker                | {ratioA,16:F2} |");
            if (embedded is not null && clustered is not null)
            {
                Say($"| (b) MiniLM embedded                           | {embedded.RowsPerSecond,10:F1} rows/s |");
                Say($"| (b) MiniLM one-worker cluster                 | {clustered.RowsPerSecond,10:F1} rows/s |");
                Say($"| (b) ratio cluster / embedded                  | {clustered.RowsPerSecond / embedded.RowsPerSecond,16:F2} |");
                Say($"| (c) bytes moved between nodes                 | {clustered.BytesMoved,16:N0} |");
                Say($"| (c) bytes produced by the stages              | {clustered.BytesProduced,16:N0} |");
                Say($"| (c) moved / produced                          | {(double)clustered.BytesMoved / clustered.BytesProduced,16:F2} |");
            }
            Say($"ratio: {ratioA:F2}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { }
        }
    }

    private sealed record SimResult(int Rows, TimeSpan Elapsed, int PeakActors, long Retries)
    {
        public double RowsPerSecond => Rows / Elapsed.TotalSeconds;

        public string Describe(int gpus, double perRowMs) => FormattableString.Invariant(
            $"{RowsPerSecond,7:F1} rows/s ({Elapsed.TotalSeconds:F2} s), peak actors {PeakActors}, device-time bound {gpus * 1000 / perRowMs:F0} rows/s ({RowsPerSecond / (gpus * 1000 / perRowMs):P0} of it)");
    }

    private static async Task<SimResult> SimJobAsync(OrleansWorkerRuntime runtime, int workers, int rows, double perRowMs, string output)
    {
        var job = Dataset.Range(rows, new ReadOptions { BlockRows = SimBlockRows }, tasks: 4)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 0, PerRowMs: perRowMs),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1), Pool = new PoolSize(1, SimGpusPerWorker * workers) });
        var clock = Stopwatch.StartNew();
        var stats = await job.WriteAsync(Sinks.Parquet(output), new ExecutionOptions { Runtime = runtime, WriteMode = WriteMode.Overwrite });
        clock.Stop();
        var model = stats.Operators.Single(o => o.Name == "model");
        if (model.RowsOut != rows) throw new InvalidOperationException($"the simulate job produced {model.RowsOut} rows, expected {rows}");
        return new SimResult(rows, clock.Elapsed, model.PeakActors, stats.Operators.Sum(o => o.TaskRetries));
    }

    private sealed record MiniResult(double RowsPerSecond, TimeSpan Elapsed, long RowsWritten, long BytesProduced, IReadOnlyList<(string Name, long Bytes)> PerStage,
        Dictionary<string, float[]> Embeddings, CpuUse Cpu)
    {
        public long BytesMoved { get; init; }

        public long DriverFetched { get; init; }

        public string Describe() => FormattableString.Invariant($"{RowsPerSecond,6:F1} rows/s ({Elapsed.TotalSeconds:F2} s incl. model load); this process: {Cpu}");
    }

    /// <summary>The MiniLM job with processor types (not lambdas), so that its actors can run on any node.</summary>
    private static async Task<MiniResult> MiniLmJobAsync(BenchData data, string input, string output, OrleansWorkerRuntime? runtime)
    {
        var job = Read.Parquet(input, new ReadOptions { BlockRows = BenchData.BlockRows })
            .MapBatches<BertTokenizeProcessor, BertTokenizeOptions>(new BertTokenizeOptions(data.Model.Vocab, "text", BenchData.MaxLength),
                new MapBatchesOptions { Name = "tokenize", Pool = new PoolSize(1, 1), Resources = ResourceRequest.None })
            .MapBatches<OnnxProcessor, OnnxOptions>(new OnnxOptions(data.Model.Model) { Pooling = Pooling.Mean },
                new MapBatchesOptions { Name = "embed", BatchSize = 32, Pool = new PoolSize(1, 2, 2), Resources = ResourceRequest.OneCpu });
        var cpu = Cpu.Start();
        var clock = Stopwatch.StartNew();
        var stats = await job.WriteAsync(Sinks.Parquet(output), new ExecutionOptions { Runtime = runtime, WriteMode = WriteMode.Overwrite });
        clock.Stop();
        var cpuUse = cpu.Stop();
        var written = 0L;
        var embeddings = new Dictionary<string, float[]>(StringComparer.Ordinal);
        await foreach (var batch in Read.Parquet(output).IterateBatchesAsync())
        {
            written += batch.Length;
            var text = (StringArray)batch.Column("text");
            var vectors = (FixedSizeListArray)batch.Column("embedding");
            var size = ((Apache.Arrow.Types.FixedSizeListType)vectors.Data.DataType).ListSize;
            var elements = TensorColumns.Elements<float>(vectors);
            for (var i = 0; i < batch.Length; i++) embeddings.TryAdd(text.GetString(i)!, elements.Slice(i * size, size).ToArray());
        }
        if (written != data.Rows) throw new InvalidOperationException($"the MiniLM job wrote {written} rows, expected {data.Rows}");
        var producing = stats.Operators.Where(o => o.Kind != "write").ToList();
        return new MiniResult(data.Rows / clock.Elapsed.TotalSeconds, clock.Elapsed, written, producing.Sum(o => o.BytesOut),
            producing.Select(o => (o.Name, o.BytesOut)).ToList(), embeddings, cpuUse);
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
