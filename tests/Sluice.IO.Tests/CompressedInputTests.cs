using System.IO.Compression;
using System.Text;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.IO.Tests;

/// <summary>
/// <c>.gz</c> and <c>.zst</c> inputs read by extension as their plain files are, one read task each (a compressed stream
/// cannot be entered in the middle); a name and content that disagree are refused naming the file, never read as bytes.
/// </summary>
public sealed class CompressedInputTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<string> Lines(int count) =>
        Enumerable.Range(0, count).Select(i => i % 5 == 0 ? $"{i} 日本語 é 🙂" : $"line {i} " + new string('x', i % 40)).ToList();

    private string Write(string name, byte[] plain)
    {
        var path = _dir.File(name);
        using var file = File.Create(path);
        using Stream packed = name.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionLevel.Fastest)
            : name.EndsWith(".zst", StringComparison.Ordinal) ? new ZstdSharp.CompressionStream(file, 3) : file;
        packed.Write(plain);
        return path;
    }

    private static async Task<List<string>> ColumnAsync(Datasource source, string column)
    {
        var rows = new List<string>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(64, CancellationToken.None))
            {
                var values = (StringArray)batch.Column(column);
                for (var i = 0; i < batch.Length; i++) rows.Add(values.GetString(i));
            }
        }
        return rows;
    }

    [Theory]
    [InlineData("lines.txt.gz")]
    [InlineData("lines.txt.zst")]
    public async Task Text_Compressed_ReadsTheSameLinesAsThePlainFile_InOneTaskEvenOverTheSplitSize(string name)
    {
        var lines = Lines(5000);
        var bytes = new UTF8Encoding(false).GetBytes(string.Join("\n", lines) + "\n");
        var plain = Write("lines.txt", bytes);
        var packed = Write(name, bytes);
        // A split size far below the file: the plain file is cut into many tasks, the compressed one is not.
        var options = new TextOptions { SplitBytes = 4096 };
        Assert.True((await Sources.Text(plain, options).PlanAsync(CancellationToken.None)).Count > 10);
        var source = Sources.Text(packed, options);
        Assert.Single(await source.PlanAsync(CancellationToken.None));
        Assert.Equal(await ColumnAsync(Sources.Text(plain, options), "text"), await ColumnAsync(source, "text"));
        Assert.Equal(lines, await ColumnAsync(source, "text"));
        Assert.Contains("compressed", source.Estimate()!.Splitting, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_ConcatenatedGzipMembers_ReadsEveryMember()
    {
        // pigz/bgzip and `cat a.gz b.gz` make multi-member files; reading only the first member would lose rows silently.
        var path = _dir.File("two.txt.gz");
        await using (var file = File.Create(path))
        {
            foreach (var part in new[] { "a\nb\n", "c\nd\n" })
            {
                await using var gz = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true);
                await gz.WriteAsync(Encoding.UTF8.GetBytes(part));
            }
        }
        Assert.Equal(["a", "b", "c", "d"], await ColumnAsync(Sources.Text(path), "text"));
    }

    [Fact]
    public async Task JsonLinesAndCsv_Compressed_ReadAsPlain()
    {
        var json = string.Join("\n", Enumerable.Range(0, 300).Select(i => $$"""{"id": {{i}}, "text": "row {{i}}"}"""));
        var jsonPath = Write("rows.jsonl.zst", Encoding.UTF8.GetBytes(json));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"row {i}"), await ColumnAsync(Sources.JsonLines(jsonPath), "text"));

        var csv = "id,text\n" + string.Join("\n", Enumerable.Range(0, 300).Select(i => $"{i},\"row, {i}\""));
        var csvPath = Write("rows.csv.gz", Encoding.UTF8.GetBytes(csv));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"row, {i}"), await ColumnAsync(Sources.Csv(csvPath, new CsvOptions()), "text"));
    }

    [Fact]
    public void Estimate_CompressedText_RowsWithinAFactorOfTheTruth()
    {
        // Blocks are sized from this estimate; a compressed file's byte count alone would under-count rows by its ratio.
        var lines = Lines(200_000);
        var path = Write("many.txt.gz", Encoding.UTF8.GetBytes(string.Join("\n", lines)));
        var rows = Sources.Text(path).Estimate()!.Rows;
        Assert.NotNull(rows);
        Assert.InRange(rows!.Value, 200_000 / 2, 200_000 * 2);
    }

    [Fact]
    public async Task GzipNamedTxt_IsRefusedNamingTheFileAndTheExtension()
    {
        var path = _dir.File("hidden.txt");
        await using (var file = File.Create(path))
        await using (var gz = new GZipStream(file, CompressionLevel.Fastest))
            await gz.WriteAsync(Encoding.UTF8.GetBytes("a\nb\n"));
        var e = await Assert.ThrowsAsync<BadInputException>(async () => await Sources.Text(path).PlanAsync(CancellationToken.None));
        Assert.Contains("hidden.txt", e.Message, StringComparison.Ordinal);
        Assert.Contains("gzip", e.Message, StringComparison.Ordinal);
        Assert.Contains(".gz", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain.txt.gz", "is not gzip")]
    [InlineData("plain.txt.zst", "is not zstd")]
    public async Task CompressedNameOverPlainBytes_IsRefused(string name, string says)
    {
        var path = _dir.File(name);
        await File.WriteAllTextAsync(path, "just text\n");
        var e = await Assert.ThrowsAsync<BadInputException>(async () => await Sources.Text(path).PlanAsync(CancellationToken.None));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ParquetGz_IsRefusedSayingParquetCompressesInside()
    {
        var path = Write("data.parquet.gz", [1, 2, 3]);
        var e = await Assert.ThrowsAsync<BadInputException>(async () => await Sources.Parquet(path).PlanAsync(CancellationToken.None));
        Assert.Contains("data.parquet.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains("compresses inside", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gs://bucket/data/*.txt", "'gs://' is not supported")]
    [InlineData("hdfs://nn:8020/data", "'hdfs://' is not supported")]
    [InlineData("abfss://c@acct.dfs.core.windows.net/x", "'abfss://' is not supported")]
    [InlineData("s3://bucket/prefix", "read it with Sources.Remote")]
    public async Task UrlAsReadPath_IsRefusedByScheme_NeverTakenForALocalPath(string url, string says)
    {
        var e = await Assert.ThrowsAsync<BadInputException>(async () => await Sources.Text(url).PlanAsync(CancellationToken.None));
        Assert.Contains("read.path", e.Message, StringComparison.Ordinal);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UrlAsWritePath_IsRefused_WithoutEchoingItsPassword()
    {
        var e = Assert.Throws<BadInputException>(() => Sinks.Parquet("https://user:hunter2@example.com/out"));
        Assert.Contains("write.path", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists("https:"));
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);
        var s3 = Assert.Throws<BadInputException>(() => Sinks.JsonLines("s3://key:hunter2@bucket/out"));
        Assert.Contains("must not carry credentials", s3.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", s3.Message, StringComparison.Ordinal);
        var gs = Assert.Throws<BadInputException>(() => Sinks.JsonLines("gs://bucket/out"));
        Assert.Contains("'gs://' is not supported", gs.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists("s3:"));
        Assert.False(Directory.Exists("gs:"));
    }
}
