using System.Text;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

/// <summary>Bytes that are not UTF-8 are never replaced silently: counted and located, or refused under InvalidUtf8.Error.</summary>
public sealed class InvalidUtf8Tests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes lines joined by '\n', where "\xNN" in a line stands for that raw byte.</summary>
    private string Write(string name, params string[] lines)
    {
        var bytes = new List<byte>();
        foreach (var line in lines)
        {
            for (var i = 0; i < line.Length; i++)
            {
                if (line[i] == '\\' && i + 3 < line.Length && line[i + 1] == 'x')
                {
                    bytes.Add(Convert.ToByte(line.Substring(i + 2, 2), 16));
                    i += 3;
                }
                else bytes.AddRange(Encoding.UTF8.GetBytes(line[i].ToString()));
            }
            bytes.Add((byte)'\n');
        }
        var path = _dir.File(name);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    [Fact]
    public async Task Text_InvalidBytes_ReadAsReplacementCountedAndFirstLineNamed()
    {
        var path = Write("a.txt", "fine", "bad \\xff\\xfe here", "also \\xc3", "fine é");
        var source = Sources.Text(path);

        var rows = await ReadAllRowsAsync(source);

        Assert.Equal(["fine", "bad \uFFFD\uFFFD here", "also \uFFFD", "fine é"], rows.Select(r => (string?)r["text"]));
        var warning = Assert.Single(source.Warnings);
        Assert.Equal(3, warning.Count);
        Assert.StartsWith($"{path} line 2: bytes that are not UTF-8", warning.Message, StringComparison.Ordinal);
        Assert.Contains("invalid_utf8: error", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_InvalidBytesUnderError_FailsNamingFileAndLine()
    {
        var path = Write("a.txt", "fine", "fine", "bad \\xe9t\\xe9");
        var source = Sources.Text(path, new TextOptions { InvalidUtf8 = InvalidUtf8.Error });

        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAllRowsAsync(source));

        Assert.StartsWith($"{path} line 3: bytes that are not UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_ValidInput_NoWarning()
    {
        var source = Sources.Text(Write("a.txt", "fine \uFFFD stays", "ünïcödé"));

        await ReadAllRowsAsync(source);

        Assert.Empty(source.Warnings);
    }

    [Fact]
    public async Task PlanAsync_Again_CountsTheNewRunOnly()
    {
        var source = Sources.Text(Write("a.txt", "bad \\xff"));
        await ReadAllRowsAsync(source);

        await ReadAllRowsAsync(source);

        Assert.Equal(1, Assert.Single(source.Warnings).Count);
    }

    [Fact]
    public async Task JsonLines_InvalidBytesInTwoFiles_CountedAcrossFilesFirstByFileName()
    {
        Write("b.jsonl", "{\"s\":\"ok\"}", "{\"s\":\"caf\\xe9\"}");
        Write("c.jsonl", "{\"s\":\"\\xff\"}");
        var source = Sources.JsonLines(_dir.File("*.jsonl"));

        var rows = await ReadAllRowsAsync(source);

        Assert.Equal(["ok", "caf\uFFFD", "\uFFFD"], rows.Select(r => (string?)r["s"]));
        var warning = Assert.Single(source.Warnings);
        Assert.Equal(2, warning.Count);
        Assert.StartsWith($"{_dir.File("b.jsonl")} line 2:", warning.Message, StringComparison.Ordinal);
        Assert.Contains("2 byte sequences in 2 files", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonLines_InvalidBytesUnderError_FailsNamingFileAndLine()
    {
        var path = Write("a.jsonl", "{\"s\":\"ok\"}", "{\"s\":\"caf\\xe9\"}");

        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAllRowsAsync(Sources.JsonLines(path, new JsonLinesOptions { InvalidUtf8 = InvalidUtf8.Error })));

        Assert.StartsWith($"{path} line 2:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_InvalidBytes_CountedAndLocated()
    {
        var path = Write("a.csv", "id,name", "1,ok", "2,na\\xefve", "3,ok");
        var source = Sources.Csv(path);

        var rows = await ReadAllRowsAsync(source);

        Assert.Equal("na\uFFFDve", rows[1]["name"]);
        var warning = Assert.Single(source.Warnings);
        Assert.Equal(1, warning.Count);
        Assert.StartsWith($"{path} line 3:", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_InvalidBytesUnderError_FailsNamingFileAndLine()
    {
        var path = Write("a.csv", "id,name", "1,ok", "2,na\\xefve");

        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAllRowsAsync(Sources.Csv(path, new CsvOptions { InvalidUtf8 = InvalidUtf8.Error })));

        Assert.StartsWith($"{path} line 3:", e.Message, StringComparison.Ordinal);
    }
}
