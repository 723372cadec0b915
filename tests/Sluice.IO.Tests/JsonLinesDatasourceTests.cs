using System.Text.Json;
using Apache.Arrow.Types;
using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

public sealed class JsonLinesDatasourceTests : DatasourceConformance
{
    protected override string Extension => "jsonl";

    protected override Datasource Open(string path) => Sources.JsonLines(path);

    protected override void WriteFixture(string path, IReadOnlyList<SampleRow> rows) =>
        File.WriteAllLines(path, rows.Select(r => JsonSerializer.Serialize(new { id = r.Id, name = r.Name, score = r.Score })));

    [Fact]
    public async Task ReadAsync_NumberArrays_TensorAndRaggedColumns()
    {
        var path = Dir.File("arrays.jsonl");
        await File.WriteAllLinesAsync(path, ["{\"v\":[1,2],\"r\":[1]}", "", "{\"v\":[0.5,3],\"r\":[1,2,3]}"]);

        var schema = await Open(path).InferSchemaAsync(CancellationToken.None);
        var rows = await ReadAllRowsAsync(Open(path));

        var v = Assert.IsType<FixedSizeListType>(schema!.GetFieldByName("v").DataType);
        Assert.Equal(2, v.ListSize);
        Assert.IsType<DoubleType>(v.ValueDataType);
        Assert.IsType<ListType>(schema.GetFieldByName("r").DataType);
        Assert.Equal(new[] { 1.0, 2.0 }, rows[0]["v"]);
        Assert.Equal(new long[] { 1, 2, 3 }, rows[1]["r"]);
    }

    [Fact]
    public async Task ReadAsync_MissingKeysAndNulls_ReadAsNull()
    {
        var path = Dir.File("sparse.jsonl");
        await File.WriteAllLinesAsync(path, ["{\"a\":1,\"b\":\"x\"}", "{\"a\":null}", "{\"b\":\"y\",\"c\":true}"]);

        var rows = await ReadAllRowsAsync(Open(path));

        Assert.Equal(new Dictionary<string, object?> { ["a"] = null, ["b"] = null, ["c"] = null }, rows[1]);
        Assert.Equal(true, rows[2]["c"]);
    }
}
