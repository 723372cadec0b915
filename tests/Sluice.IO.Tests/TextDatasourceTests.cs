using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

public sealed class TextDatasourceTests : DatasourceConformance
{
    protected override string Extension => "txt";

    protected override Datasource Open(string path) => Sources.Text(path);

    protected override void WriteFixture(string path, IReadOnlyList<SampleRow> rows) =>
        File.WriteAllLines(path, rows.Select(r => r.Name));

    protected override Dictionary<string, object?> Expected(SampleRow row) => new() { ["text"] = row.Name };

    [Fact]
    public async Task ReadAsync_SkipEmpty_DropsBlankLinesOnlyWhenAsked()
    {
        var path = Dir.File("gaps.txt");
        await File.WriteAllTextAsync(path, "a\n\nb\r\n");

        var kept = await ReadAllRowsAsync(Sources.Text(path));
        var skipped = await ReadAllRowsAsync(Sources.Text(path, skipEmpty: true));

        Assert.Equal(["a", "", "b"], kept.Select(r => (string?)r["text"]));
        Assert.Equal(["a", "b"], skipped.Select(r => (string?)r["text"]));
    }

    [Fact]
    public async Task ReadAsync_InvalidUtf8_ReplacedNotFailed()
    {
        var path = Dir.File("bad.txt");
        await File.WriteAllBytesAsync(path, [(byte)'o', (byte)'k', 0xFF, (byte)'\n']);

        var rows = await ReadAllRowsAsync(Sources.Text(path));

        Assert.Equal("ok\uFFFD", rows[0]["text"]);
    }
}
