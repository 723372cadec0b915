using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.IO.Tests;

/// <summary>
/// Large text and JSON Lines files split into line-aligned byte ranges: whatever the split size, the
/// tasks together read every line of the file exactly once, in order, as one whole-file read does.
/// </summary>
public sealed class LineSplitTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Lines of varied length: empty ones, multi-byte UTF-8 (2, 3 and 4 bytes), so cuts land inside lines, terminators and characters.</summary>
    private static List<string> Lines(int count) =>
        Enumerable.Range(0, count).Select(i => (i % 7) switch
        {
            0 => "",
            1 => $"line {i} é",
            2 => $"{i} 日本語テキスト",
            3 => $"{i} 🙂🙂 emoji",
            4 => new string('x', i % 50) + i,
            _ => $"plain {i}",
        }).ToList();

    private static async Task<List<string>> ReadTextAsync(Datasource source)
    {
        var rows = new List<string>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(7, CancellationToken.None))
            {
                var column = (StringArray)batch.Column("text");
                for (var i = 0; i < batch.Length; i++) rows.Add(column.GetString(i));
            }
        }
        return rows;
    }

    [Theory]
    [InlineData("\n", true)]
    [InlineData("\r\n", true)]
    [InlineData("\n", false)]
    [InlineData("\r\n", false)]
    [InlineData("\r", true)]
    public async Task PlanAsync_TextAtManySplitSizes_ReadsEveryLineExactlyOnceInOrder(string newline, bool trailingNewline)
    {
        var lines = Lines(300);
        var text = string.Join(newline, lines) + (trailingNewline ? newline : "");
        var path = _dir.File("big.txt");
        await File.WriteAllTextAsync(path, text, new UTF8Encoding(false));
        var whole = await ReadTextAsync(Sources.Text(path));
        var length = new FileInfo(path).Length;

        foreach (var split in new long[] { 1, 2, 3, 5, 7, 13, 64, 100, 333, 1000, length - 1, length, length + 1 })
        {
            var source = Sources.Text(path, new TextOptions { SplitBytes = split });
            var tasks = await source.PlanAsync(CancellationToken.None);
            var rows = await ReadTextAsync(source);

            Assert.Equal(whole, rows);
            Assert.Equal(split >= length ? 1 : (int)((length + split - 1) / split), tasks.Count);
            Assert.Equal(tasks.Count, tasks.Select(t => t.Id).Distinct().Count());
        }
        // A file that ends without a newline still ends with its last line; a trailing newline adds no empty row.
        Assert.Equal(lines, whole);
    }

    [Fact]
    public async Task PlanAsync_Utf8BomAndSkipEmpty_SameRowsAsAWholeRead()
    {
        var path = _dir.File("bom.txt");
        await File.WriteAllTextAsync(path, string.Join("\n", Lines(120)) + "\n", new UTF8Encoding(true));
        var whole = await ReadTextAsync(Sources.Text(path, new TextOptions { SkipEmpty = true }));

        foreach (var split in new long[] { 1, 4, 17, 256 })
            Assert.Equal(whole, await ReadTextAsync(Sources.Text(path, new TextOptions { SkipEmpty = true, SplitBytes = split })));
        Assert.DoesNotContain("", whole);
        Assert.Equal("line 1 é", whole[0]);
    }

    [Fact]
    public async Task PlanAsync_SameFileTwice_SameTaskIds_AndIdsNameTheRange()
    {
        var path = _dir.File("ids.txt");
        await File.WriteAllLinesAsync(path, Lines(200));
        var options = new TextOptions { SplitBytes = 500 };

        var first = (await Sources.Text(path, options).PlanAsync(CancellationToken.None)).Select(t => t.Id).ToList();
        var second = (await Sources.Text(path, options).PlanAsync(CancellationToken.None)).Select(t => t.Id).ToList();
        var small = (await Sources.Text(path).PlanAsync(CancellationToken.None)).Select(t => t.Id).ToList();

        Assert.Equal(first, second);
        Assert.StartsWith($"{path}@0-", first[0], StringComparison.Ordinal);
        Assert.EndsWith($"-{new FileInfo(path).Length}", first[^1], StringComparison.Ordinal);
        // A file under the split size keeps its plain path as its id, as before splitting existed.
        Assert.Equal([path], small);
    }

    [Fact]
    public async Task PlanAsync_Utf16File_IsNotSplit()
    {
        var path = _dir.File("wide.txt");
        await File.WriteAllTextAsync(path, string.Join("\n", Lines(48)), Encoding.Unicode);

        var source = Sources.Text(path, new TextOptions { SplitBytes = 10 });

        Assert.Single(await source.PlanAsync(CancellationToken.None));
        Assert.Equal(Lines(48), await ReadTextAsync(source));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public async Task PlanAsync_JsonLinesAtManySplitSizes_ReadsEveryObjectExactlyOnce(string newline)
    {
        var path = _dir.File("big.jsonl");
        // Blank lines between objects, multi-byte text, and no newline after the last object.
        var lines = Enumerable.Range(0, 200).Select(i => i % 9 == 0 ? "" : JsonSerializer.Serialize(new { id = i, text = $"{i} 日本 🙂" }));
        await File.WriteAllTextAsync(path, string.Join(newline, lines), new UTF8Encoding(false));
        var expected = Enumerable.Range(0, 200).Where(i => i % 9 != 0).Select(i => (long)i).ToList();

        foreach (var split in new long[] { 1, 3, 10, 77, 500, 4096, 1 << 20 })
        {
            var ids = new List<long>();
            var source = Sources.JsonLines(path, new JsonLinesOptions { SplitBytes = split });
            foreach (var task in await source.PlanAsync(CancellationToken.None))
            {
                await foreach (var batch in task.ReadAsync(5, CancellationToken.None))
                {
                    var id = (Int64Array)batch.Column("id");
                    var text = (StringArray)batch.Column("text");
                    for (var i = 0; i < batch.Length; i++)
                    {
                        ids.Add(id.GetValue(i)!.Value);
                        Assert.Equal($"{id.GetValue(i)} 日本 🙂", text.GetString(i));
                    }
                }
            }
            Assert.Equal(expected, ids);
        }
    }

    [Fact]
    public async Task ReadAsync_MalformedLineInAPart_ErrorNamesThePart()
    {
        var path = _dir.File("bad.jsonl");
        await File.WriteAllLinesAsync(path, [.. Enumerable.Range(0, 50).Select(i => $"{{\"id\":{i}}}"), "{oops", "{\"id\":51}"]);
        var source = Sources.JsonLines(path, new JsonLinesOptions { SplitBytes = 100 });
        var last = (await source.PlanAsync(CancellationToken.None))[^1];

        var e = await Assert.ThrowsAsync<BadInputException>(async () =>
        {
            await foreach (var _ in last.ReadAsync(10, CancellationToken.None)) { }
        });

        Assert.Contains($"{path} (the part from byte", e.Message, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_InvalidUtf8InSeveralParts_OneFileAndTheFirstPartNamed()
    {
        var path = _dir.File("bad.txt");
        var bytes = new List<byte>();
        for (var i = 0; i < 40; i++) bytes.AddRange([.. Encoding.UTF8.GetBytes($"row {i} "), 0xFF, (byte)'\n']);
        await File.WriteAllBytesAsync(path, [.. bytes]);
        var source = Sources.Text(path, new TextOptions { SplitBytes = 100 });

        var rows = await ReadTextAsync(source);

        Assert.Equal(40, rows.Count);
        var warning = Assert.Single(source.Warnings);
        Assert.Equal(40, warning.Count);
        Assert.Contains("in 1 file)", warning.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{path} line 1:", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Estimate_TextFile_CountsRowsAndTasks()
    {
        var path = _dir.File("est.txt");
        await File.WriteAllLinesAsync(path, Lines(2822));

        var small = Sources.Text(path).Estimate()!;
        var split = Sources.Text(path, new TextOptions { SplitBytes = 10_000 }).Estimate()!;

        // 64 KiB of sample covers the whole file here: the count is exact.
        Assert.Equal(2822, small.Rows);
        Assert.Equal(new FileInfo(path).Length, small.Bytes);
        Assert.Equal(1, small.ReadTasks);
        Assert.Equal((await Sources.Text(path, new TextOptions { SplitBytes = 10_000 }).PlanAsync(CancellationToken.None)).Count, split.ReadTasks);
        Assert.Contains("line-aligned byte ranges", split.Splitting, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Estimate_LargerThanTheSample_RowsWithinAFewPercent()
    {
        var path = _dir.File("large.txt");
        await File.WriteAllLinesAsync(path, Enumerable.Range(0, 20_000).Select(i => $"row {i:D6} of a file larger than the sample"));

        var rows = Sources.Text(path).Estimate()!.Rows!.Value;

        Assert.InRange(rows, 19_400, 20_600);
    }
}
