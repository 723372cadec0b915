using System.Text.Json;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.IO.Tests;

public sealed class JsonLinesDatasinkTests : DatasinkConformance
{
    protected override string Extension => "jsonl";

    protected override Datasink Create(string directory) => Sinks.JsonLines(directory);

    protected override Datasource ReadBack(string directory) => Sources.JsonLines(directory);

    [Fact]
    public async Task WriteAsync_TensorAndListColumns_WrittenAsJsonArrays()
    {
        var (field, array) = TensorColumns.Create("emb", new[] { 1.5f, 2f, 3f, 4f }, rows: 2, shape: [2]);
        var batch = ArrowBatches.WithColumn(
            Rows.ToBatch([new Dictionary<string, object?> { ["ids"] = new long[] { 1 } }, new Dictionary<string, object?> { ["ids"] = new long[] { 2, 3 } }]),
            field, array);
        var sink = Create(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(new Block(batch, new BlockLineage(0, "t", 0, 0)), CancellationToken.None);

        var lines = await File.ReadAllLinesAsync(Path.Combine(Out, Sluice.IO.Output.FileDatasink.PartName(new BlockLineage(0, "t", 0, 0), "jsonl")));

        Assert.Equal(2, lines.Length);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal([2L, 3L], second.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([3.0, 4.0], second.RootElement.GetProperty("emb").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public async Task WriteAsync_NaNAndNull_WrittenAsJsonNull()
    {
        var batch = Rows.ToBatch([new Dictionary<string, object?> { ["x"] = double.NaN, ["s"] = null }]);
        var sink = Create(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(new Block(batch, new BlockLineage(0, "t", 0, 0)), CancellationToken.None);

        var line = Assert.Single(await File.ReadAllLinesAsync(Path.Combine(Out, Sluice.IO.Output.FileDatasink.PartName(new BlockLineage(0, "t", 0, 0), "jsonl"))));

        Assert.Equal("{\"x\":null,\"s\":null}", line);
    }
}
