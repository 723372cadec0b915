using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;
using Sluice.IO.ObjectStorage;
using Sluice.Testing.ObjectStorage;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>s3-write</c>: what writing an output to S3 costs against writing it to a local directory. One job — Range → a map
/// that adds a 384-float embedding per row → Parquet parts of <c>--file-mib</c> — written to a local directory (A) and to
/// <c>s3://models/…</c> on an s3rver started here on loopback (B), interleaved A B A B over rounds. Both commit exactly
/// once (fsync + rename + manifest line locally; upload, then the manifest's upload, to S3); each output is read back and
/// counted outside the timed part. Prints each side's median and min–max wall time and last <c>ratio: X</c> = median
/// local time / median S3 time (1: S3 costs nothing more; below 1: its share of the job).
/// </summary>
internal static class S3WriteBench
{
    public const string Usage = "Sluice.Bench s3-write [--rows 100000] [--block-rows 2000] [--file-mib 16] [--rounds 3]";

    private const int Width = 384;

    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int rows = 100_000, blockRows = 2_000, fileMib = 16, rounds = 3;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": rows = int.Parse(args[++i], ci); break;
                case "--block-rows": blockRows = int.Parse(args[++i], ci); break;
                case "--file-mib": fileMib = int.Parse(args[++i], ci); break;
                case "--rounds": rounds = int.Parse(args[++i], ci); break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: {Usage}");
                    return 2;
            }
        }
        var root = Path.Combine(Path.GetTempPath(), $"sluice-s3-bench-{Guid.NewGuid():N}");
        // The tests' s3rver (npm, installed into .ci/tools by .ci/helm-tools), on a free loopback port.
        using var server = S3rver.Start();
        var storage = server.Options(Path.Combine(root, "cache"));
        var options = new ParquetSinkOptions { TargetFileSize = (long)fileMib << 20, ObjectStorage = storage };
        Say($"s3-write bench: {rows} rows of {Width} floats ({rows * (long)Width * 4 / (1 << 20)} MiB) in blocks of {blockRows}, Parquet parts of ~{fileMib} MiB; local directory vs s3rver at {server.Endpoint}");
        var local = new List<double>();
        var s3 = new List<double>();
        try
        {
            for (var r = 0; r < rounds; r++)
            {
                var dir = Path.Combine(root, $"local-{r}");
                var localSeconds = await TimeAsync(Sinks.Parquet(dir, options), rows, blockRows);
                var localRows = await Read.Parquet(dir).CountAsync(new ExecutionOptions());
                local.Add(localSeconds);
                var url = $"s3://{S3rver.Bucket}/out-{r}";
                var s3Seconds = await TimeAsync(Sinks.Parquet(url, options), rows, blockRows);
                var s3Rows = await CountRemoteAsync(url, storage);
                s3.Add(s3Seconds);
                if (localRows != rows || s3Rows != rows) throw new InvalidOperationException($"outputs hold {localRows} and {s3Rows} rows, not {rows}: exactly-once broken");
                var parts = Directory.GetFiles(dir, "part-*").Length;
                Say($"  round {r + 1}: local {localSeconds:F2} s, s3 {s3Seconds:F2} s ({parts} parts each, {rows} rows read back from each)");
                Directory.Delete(dir, recursive: true);
            }
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
        Say($"local: median {Median(local):F2} s (min-max {local.Min():F2}-{local.Max():F2})");
        Say($"s3:    median {Median(s3):F2} s (min-max {s3.Min():F2}-{s3.Max():F2})");
        Say($"ratio: {Median(local) / Median(s3):F2}");
        return 0;
    }

    private static async Task<double> TimeAsync(Datasink sink, int rows, int blockRows)
    {
        var ds = Dataset.Range(rows, new ReadOptions { BlockRows = blockRows }, tasks: 4).MapBatches(Embed, new MapBatchesOptions { Name = "embed" });
        var clock = Stopwatch.StartNew();
        await ds.WriteAsync(sink, new ExecutionOptions { WriteMode = WriteMode.Overwrite });
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The batch with an <c>embedding</c> column of <see cref="Width"/> floats per row, made from the row's id.</summary>
    private static RecordBatch Embed(RecordBatch batch)
    {
        var ids = (Int64Array)batch.Column(0);
        var flat = new float[batch.Length * Width];
        for (var i = 0; i < batch.Length; i++)
        {
            var id = ids.GetValue(i)!.Value;
            for (var k = 0; k < Width; k++) flat[i * Width + k] = (float)Math.Sin(id * 0.001 + k);
        }
        var (field, array) = TensorColumns.Create("embedding", flat, batch.Length, [Width]);
        return new RecordBatch(new Schema([.. batch.Schema.FieldsList, field], batch.Schema.Metadata), [.. Enumerable.Range(0, batch.ColumnCount).Select(batch.Column), array], batch.Length);
    }

    private static async Task<long> CountRemoteAsync(string url, ObjectFileOptions storage)
    {
        var source = Sources.Remote(url, "parquet", local => Sources.Parquet(local), storage);
        long count = 0;
        foreach (var task in await source.PlanAsync(CancellationToken.None))
            await foreach (var batch in task.ReadAsync(10_000, CancellationToken.None)) count += batch.Length;
        return count;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Say(FormattableString line) => Console.WriteLine(FormattableString.Invariant(line));
}
