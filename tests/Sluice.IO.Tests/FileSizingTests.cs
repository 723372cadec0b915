using System.Text.Json;
using ParquetSharp;
using Sluice.Blocks;
using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

/// <summary>Blocks gathered into part files sized for readers: few files, each committed once with all its blocks.</summary>
public sealed class FileSizingTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string Out => _dir.File("out");

    public void Dispose() => _dir.Dispose();

    private static OutputFingerprint Fingerprint() => new(new Dictionary<string, string> { ["read.block_rows"] = "50", ["write.format"] = "x" });

    private static Block MakeBlock(int taskIndex, int seq, int rows, int firstRow) =>
        new(Batch(Rows(rows, firstRow)), new BlockLineage(taskIndex, $"in/{taskIndex}.txt", seq, firstRow));

    /// <summary>Blocks of <paramref name="blockRows"/> rows: <paramref name="tasks"/> read tasks of <paramref name="blocksPerTask"/> blocks, ids 0.. in order.</summary>
    private static List<Block> Blocks(int tasks, int blocksPerTask, int blockRows) =>
        [.. Enumerable.Range(0, tasks).SelectMany(t => Enumerable.Range(0, blocksPerTask)
            .Select(s => MakeBlock(t, s, blockRows, (t * blocksPerTask + s) * blockRows)))];

    private static async Task<List<BlockLineage>> AppendAllAsync(Datasink sink, IEnumerable<Block> blocks)
    {
        var committed = new List<BlockLineage>();
        foreach (var b in blocks) committed.AddRange(await sink.AppendAsync(b, CancellationToken.None));
        return committed;
    }

    private string[] PartFiles() => [.. Directory.GetFiles(Out, "part-*").Order(StringComparer.Ordinal)];

    private List<JsonElement> FileRecords() => !File.Exists(Path.Combine(Out, "_manifest.jsonl")) ? [] :
        [.. File.ReadAllLines(Path.Combine(Out, "_manifest.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).Where(r => r.GetProperty("kind").GetString() == "file")];

    private static async Task<List<long>> IdsAsync(Datasource source) =>
        [.. (await ReadAllRowsAsync(source)).Select(r => (long)r["id"]!)];

    [Theory]
    [InlineData("parquet")]
    [InlineData("jsonl")]
    public async Task AppendAsync_ManySmallBlocksWithRowsPerFile_FewFilesOfThatManyRowsEachRowOnce(string format)
    {
        var sink = format == "parquet" ? Sinks.Parquet(Out, new ParquetSinkOptions { RowsPerFile = 1_000 }) : Sinks.JsonLines(Out, new JsonLinesSinkOptions { RowsPerFile = 1_000 });
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);

        var committed = await AppendAllAsync(sink, Blocks(tasks: 4, blocksPerTask: 25, blockRows: 50));
        committed.AddRange(await sink.FlushAsync(CancellationToken.None));
        await sink.CompleteAsync(CancellationToken.None);

        Assert.Equal(5, PartFiles().Length);
        Assert.Equal(100, committed.Count);
        Assert.Equal(100, committed.Distinct().Count());
        Assert.All(FileRecords(), r => Assert.Equal(1_000, r.GetProperty("rows").GetInt64()));
        Assert.All(FileRecords(), r => Assert.Equal(20, r.GetProperty("blocks").GetArrayLength()));
        var ids = await IdsAsync(format == "parquet" ? Sources.Parquet(Out) : Sources.JsonLines(Out));
        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => (long)i), ids.Order());
    }

    [Fact]
    public async Task AppendAsync_RowsPerFileNotAMultipleOfBlocks_FileClosedBeforeItWouldPassIt()
    {
        var sink = Sinks.JsonLines(Out, new JsonLinesSinkOptions { RowsPerFile = 100 });
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);

        await AppendAllAsync(sink, Blocks(tasks: 1, blocksPerTask: 10, blockRows: 30));
        await sink.FlushAsync(CancellationToken.None);

        // 30+30+30 = 90 (a fourth block would pass 100), three times, then the last 30.
        Assert.Equal([90L, 90, 90, 30], FileRecords().Select(r => r.GetProperty("rows").GetInt64()));
        Assert.All(PartFiles(), f => Assert.InRange(File.ReadLines(f).Count(), 1, 100));
    }

    [Theory]
    [InlineData("parquet")]
    [InlineData("jsonl")]
    public async Task AppendAsync_TargetFileSize_FilesNearTheTarget(string format)
    {
        const long target = 256 << 10;
        var sink = format == "parquet"
            ? Sinks.Parquet(Out, new ParquetSinkOptions { TargetFileSize = target, RowGroupRows = 2_000 })
            : Sinks.JsonLines(Out, new JsonLinesSinkOptions { TargetFileSize = target });
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);

        await AppendAllAsync(sink, Blocks(tasks: 8, blocksPerTask: 100, blockRows: 50));
        await sink.FlushAsync(CancellationToken.None);

        var sizes = PartFiles().Select(f => new FileInfo(f).Length).ToList();
        Assert.InRange(sizes.Count, 2, 40);
        // Every file but the last is within a quarter of the target (a Parquet part's first row groups are estimated).
        Assert.All(sizes.SkipLast(1), s => Assert.InRange(s, target * 3 / 4, target * 5 / 4));
        var ids = await IdsAsync(format == "parquet" ? Sources.Parquet(Out) : Sources.JsonLines(Out));
        Assert.Equal(Enumerable.Range(0, 40_000).Select(i => (long)i), ids.Order());
    }

    [Fact]
    public async Task AppendAsync_BelowTheTarget_NothingCommittedUntilFlush()
    {
        var sink = Sinks.Parquet(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);

        var early = await AppendAllAsync(sink, Blocks(tasks: 2, blocksPerTask: 3, blockRows: 10));

        Assert.Empty(early);
        Assert.Empty(PartFiles());
        Assert.Empty(FileRecords());
        var flushed = await sink.FlushAsync(CancellationToken.None);
        Assert.Equal(6, flushed.Count);
        Assert.Single(PartFiles());
        Assert.Single(FileRecords());
    }

    [Fact]
    public async Task OpenAsync_ResumeAfterKillWithAnOpenPart_OnlyCommittedFilesCountAndTheRestIsWrittenOnce()
    {
        var blocks = Blocks(tasks: 3, blocksPerTask: 10, blockRows: 10);
        var first = Sinks.JsonLines(Out, new JsonLinesSinkOptions { RowsPerFile = 40 });
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        var committed = await AppendAllAsync(first, blocks.Take(17));
        ((IDisposable)first).Dispose();

        Assert.Equal(16, committed.Count);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Out, ".tmp")));
        var resumed = Sinks.JsonLines(Out, new JsonLinesSinkOptions { RowsPerFile = 40 });
        var state = await resumed.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        Assert.Equal(committed.Select(l => Datasink.BlockKey(l.TaskId, l.Seq)).ToHashSet(), state.CommittedBlocks.ToHashSet());
        Assert.False(Directory.Exists(Path.Combine(Out, ".tmp")));
        // The executor drops committed blocks after reading; the sink takes the rest.
        await AppendAllAsync(resumed, blocks.Where(b => !state.CommittedBlocks.Contains(Datasink.BlockKey(b.Lineage.TaskId, b.Lineage.Seq))));
        await resumed.CompleteAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), (await IdsAsync(Sources.JsonLines(Out))).Order());
    }

    [Fact]
    public async Task OpenAsync_ResumeWithADamagedGroupedFile_AllItsBlocksAreWrittenAgain()
    {
        var blocks = Blocks(tasks: 2, blocksPerTask: 4, blockRows: 10);
        var first = Sinks.Parquet(Out, new ParquetSinkOptions { RowsPerFile = 40 });
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await AppendAllAsync(first, blocks);
        ((IDisposable)first).Dispose();
        var damaged = PartFiles()[1];
        var bytes = File.ReadAllBytes(damaged);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(damaged, bytes);

        var resumed = Sinks.Parquet(Out, new ParquetSinkOptions { RowsPerFile = 40 });
        var state = await resumed.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.Equal(blocks.Take(4).Select(b => Datasink.BlockKey(b.Lineage.TaskId, b.Lineage.Seq)).ToHashSet(), state.CommittedBlocks.ToHashSet());
        Assert.False(File.Exists(damaged));
        await AppendAllAsync(resumed, blocks.Skip(4));
        await resumed.CompleteAsync(CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 80).Select(i => (long)i), (await IdsAsync(Sources.Parquet(Out))).Order());
    }

    [Fact]
    public async Task AbortAsync_WithAnOpenPart_CommitsItWholeAndLeavesNoTmp()
    {
        var sink = Sinks.JsonLines(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await AppendAllAsync(sink, Blocks(tasks: 1, blocksPerTask: 3, blockRows: 10));

        await sink.AbortAsync();

        Assert.Single(PartFiles());
        Assert.Equal(3, FileRecords().Single().GetProperty("blocks").GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(Out, ".tmp")));
        Assert.False(File.Exists(Path.Combine(Out, "_SUCCESS")));
        Assert.Equal(3, (await Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, CancellationToken.None)).CommittedBlocks.Count);
    }

    [Theory]
    [InlineData(null, Compression.Zstd)]
    [InlineData(ParquetCompression.Snappy, Compression.Snappy)]
    [InlineData(ParquetCompression.None, Compression.Uncompressed)]
    public async Task FlushAsync_ParquetCompressionAndRowGroupRows_AreWhatTheFileSays(ParquetCompression? codec, Compression expected)
    {
        var options = new ParquetSinkOptions { RowGroupRows = 250 };
        if (codec is { } c) options = options with { Compression = c };
        var sink = Sinks.Parquet(Out, options);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await AppendAllAsync(sink, Blocks(tasks: 1, blocksPerTask: 20, blockRows: 50));
        await sink.FlushAsync(CancellationToken.None);

        using var reader = new ParquetFileReader(Assert.Single(PartFiles()));
        var metadata = reader.FileMetaData;
        Assert.Equal(4, metadata.NumRowGroups);
        for (var g = 0; g < metadata.NumRowGroups; g++)
        {
            using var group = reader.RowGroup(g);
            Assert.Equal(250, group.MetaData.NumRows);
            for (var col = 0; col < metadata.NumColumns; col++) Assert.Equal(expected, group.MetaData.GetColumnChunkMetaData(col).Compression);
        }
    }

    [Theory]
    [InlineData("rows_per_file")]
    [InlineData("target_file_size")]
    [InlineData("compression")]
    [InlineData("row_group_rows")]
    public async Task OpenAsync_ResumeWithOtherWriteOptions_RefusedNamingTheField(string field)
    {
        var first = Sinks.Parquet(Out, new ParquetSinkOptions { RowsPerFile = 10 });
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await first.WriteAsync(MakeBlock(0, 0, 10, 0), CancellationToken.None);
        ((IDisposable)first).Dispose();
        var other = field switch
        {
            "rows_per_file" => new ParquetSinkOptions { RowsPerFile = 20 },
            "target_file_size" => new ParquetSinkOptions { RowsPerFile = 10, TargetFileSize = 1 << 20 },
            "compression" => new ParquetSinkOptions { RowsPerFile = 10, Compression = ParquetCompression.Snappy },
            _ => new ParquetSinkOptions { RowsPerFile = 10, RowGroupRows = 7 },
        };

        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.Parquet(Out, other).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None).AsTask());

        Assert.Contains($"write.{field} was ", e.Message, StringComparison.Ordinal);
        var same = await Sinks.Parquet(Out, new ParquetSinkOptions { RowsPerFile = 10 }).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        Assert.Single(same.CommittedBlocks);
    }

    [Fact]
    public async Task OpenAsync_ResumeOfAnOutputWrittenOneBlockPerPart_KeepsItsPartsWhateverTheSizing()
    {
        // An output as sinks wrote it before part files held several blocks: "block" lines, no write options in the fingerprint.
        Directory.CreateDirectory(Out);
        var part = Path.Combine(Out, "part-00000-aaaaaaaa-00000.jsonl");
        await File.WriteAllTextAsync(part, "{\"id\":0,\"name\":\"name-0\",\"score\":0.25}\n");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(part)));
        await File.WriteAllLinesAsync(Path.Combine(Out, "_manifest.jsonl"), [
            "{\"kind\":\"fingerprint\",\"fields\":{\"read.block_rows\":\"50\",\"write.format\":\"x\"}}",
            $"{{\"kind\":\"block\",\"key\":\"in/0.txt#0\",\"part\":\"{Path.GetFileName(part)}\",\"rows\":1,\"bytes\":{new FileInfo(part).Length},\"sha256\":\"{sha}\"}}"]);

        var state = await Sinks.JsonLines(Out, new JsonLinesSinkOptions { RowsPerFile = 500 }).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.Equal(["in/0.txt#0"], state.CommittedBlocks);
        Assert.True(File.Exists(part));
    }

    [Fact]
    public void Parquet_InvalidOptions_RefusedNamingTheField()
    {
        var e = Assert.Throws<SluiceException>(() => Sinks.Parquet(Out, new ParquetSinkOptions { RowsPerFile = 0, RowGroupRows = 0 }));

        Assert.Contains("RowsPerFile: '0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("RowGroupRows: '0'", e.Message, StringComparison.Ordinal);
    }
}
