using System.Text.Json;
using Sluice.Contracts;
using Sluice.Execution;

namespace Sluice.Jobs.Tests;

/// <summary><c>write:</c> fields of a format (rows_per_file, target_file_size, compression, row_group_rows) bind to its options record and reach the files.</summary>
public sealed class WriteOptionsTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Spec(string write, int rows = 20_000, double perRowMs = 0) => $$"""
        name: sizing
        read: { format: range, count: {{rows}}, block_rows: 100 }
        stages:
          - { name: sim, op: simulate, per_row_ms: {{perRowMs}} }
        write: { path: {{_dir["out"]}}, {{write}} }
        execution: { sim_gpus: 1 }
        """;

    private string[] Parts() => !Directory.Exists(_dir["out"]) ? [] : [.. Directory.GetFiles(_dir["out"], "part-*").Order(StringComparer.Ordinal)];

    private List<long> Ids() =>
        [.. Parts().SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64())];

    [Fact]
    public async Task Parse_JsonlWithRowsPerFile_TheJobWritesFilesOfThatManyRows()
    {
        var spec = JobSpecParser.Parse(Spec("format: jsonl, rows_per_file: 5000"), "job.yaml", []);

        await spec.Dataset().WriteAsync(spec.Sink(), spec.Options()).WaitAsync(Limit);

        Assert.Equal(4, Parts().Length);
        Assert.All(Parts(), p => Assert.Equal(5_000, File.ReadLines(p).Count()));
        Assert.Equal(Enumerable.Range(0, 20_000).Select(i => (long)i), Ids().Order());
    }

    [Fact]
    public void Parse_BadWriteOptions_NamesEachFieldAndWhatIsAccepted()
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(
            Spec("format: parquet, compression: lz4, rows_per_file: 0, target_file_size: lots"), "job.yaml", []));

        Assert.Contains("write.compression: 'lz4' is not accepted; give one of: zstd, snappy, none", e.Message, StringComparison.Ordinal);
        Assert.Contains("write.rows_per_file: '0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("write.target_file_size: 'lots'", e.Message, StringComparison.Ordinal);
        var jsonl = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("format: jsonl, row_group_rows: 10"), "job.yaml", []));
        Assert.Contains("write.row_group_rows", jsonl.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_StoppedMidJobThenResumed_EveryRowOnceAndNoHalfWrittenFile()
    {
        var spec = JobSpecParser.Parse(Spec("format: jsonl, rows_per_file: 1000", perRowMs: 0.05), "job.yaml", []);
        using var stop = new CancellationTokenSource();
        var job = spec.Dataset().WriteAsync(spec.Sink(), spec.Options(), stop.Token);
        var deadline = DateTime.UtcNow + Limit;
        while (Parts().Length < 2 && !job.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(5);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.WaitAsync(Limit));

        var stopped = Ids();
        Assert.InRange(stopped.Count, 2_000, 19_999);
        Assert.Equal(stopped.Count, stopped.Distinct().Count());
        Assert.False(File.Exists(_dir["out/_SUCCESS"]));
        Assert.False(Directory.Exists(_dir["out/.tmp"]));

        var resumed = JobSpecParser.Parse(Spec("format: jsonl, rows_per_file: 1000", perRowMs: 0.05), "job.yaml", []);
        await resumed.Dataset().WriteAsync(resumed.Sink(), resumed.Options(WriteMode.Resume)).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 20_000).Select(i => (long)i), Ids().Order());
        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
        Assert.False(Directory.Exists(_dir["out/.tmp"]));
    }
}
