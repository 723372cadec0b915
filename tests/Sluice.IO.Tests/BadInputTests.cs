using Sluice.Contracts;

namespace Sluice.IO.Tests;

/// <summary>Each bad input fails with a message that locates it: the file, the line, the column.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<BadInputException> ReadFailsAsync(Datasource source) =>
        await Assert.ThrowsAsync<BadInputException>(() => Samples.ReadAllRowsAsync(source, blockRows: 2));

    [Fact]
    public async Task PlanAsync_MissingFile_NamesPathAndWhatWasExpected()
    {
        var path = _dir.File("nope.csv");

        var e = await Assert.ThrowsAsync<BadInputException>(() => Sources.Csv(path).PlanAsync(CancellationToken.None).AsTask());

        Assert.Contains($"'{path}' does not exist", e.Message, StringComparison.Ordinal);
        Assert.Contains("CSV", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_GlobMatchesNothing_SaysCheckTheGlob()
    {
        var glob = Path.Combine(_dir.Path, "*.txt");

        var e = await Assert.ThrowsAsync<BadInputException>(() => Sources.Text(glob).PlanAsync(CancellationToken.None).AsTask());

        Assert.Equal($"no files match '{glob}'; check the path or the glob", e.Message);
    }

    [Fact]
    public async Task PlanAsync_WildcardInDirectory_Refused()
    {
        var e = await Assert.ThrowsAsync<BadInputException>(() => Sources.Text(Path.Combine(_dir.Path, "*", "a.txt")).PlanAsync(CancellationToken.None).AsTask());

        Assert.Contains("file-name part", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvRowWithWrongFieldCount_NamesFileLineAndColumns()
    {
        var path = _dir.File("short.csv");
        await File.WriteAllTextAsync(path, "id,name,age\n1,a,30\n2,b\n");

        var e = await ReadFailsAsync(Sources.Csv(path));

        Assert.Contains($"{path} line 3: expected 3 fields (id, name, age) but found 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvDeclaredInt64WithText_NamesFileLineColumnAndValue()
    {
        var path = _dir.File("x.csv");
        await File.WriteAllTextAsync(path, "id,age\n1,30\n2,abc\n");
        var options = new CsvOptions { ColumnTypes = new Dictionary<string, string> { ["age"] = "int64" } };

        var e = await ReadFailsAsync(Sources.Csv(path, options));

        Assert.Equal($"{path} line 3, column 'age': 'abc' is not an int64; fix the value or declare the column as string", e.Message);
    }

    [Fact]
    public async Task ReadAsync_CsvValueBreakingInferredType_NamesLaterLine()
    {
        var path = _dir.File("later.csv");
        await File.WriteAllTextAsync(path, "n\n1\n2\n3\nfour\n");

        var e = await ReadFailsAsync(Sources.Csv(path));

        Assert.Contains($"{path} line 5, column 'n': 'four' is not an int64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvEmptyFile_SaysHeaderExpected()
    {
        var path = _dir.File("empty.csv");
        await File.WriteAllTextAsync(path, "");

        var e = await ReadFailsAsync(Sources.Csv(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("header", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_MalformedJsonLine_NamesFileLineAndParserComplaint()
    {
        var path = _dir.File("bad.jsonl");
        await File.WriteAllTextAsync(path, "{\"a\":1}\n\n{\"a\":2,}\n");

        var e = await ReadFailsAsync(Sources.JsonLines(path));

        Assert.StartsWith($"{path} line 3: malformed JSON (", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(e.InnerException);
    }

    [Fact]
    public async Task ReadAsync_JsonLineNotAnObject_NamesLine()
    {
        var path = _dir.File("array.jsonl");
        await File.WriteAllTextAsync(path, "[1,2]\n");

        var e = await ReadFailsAsync(Sources.JsonLines(path));

        Assert.Contains($"{path} line 1: expected a JSON object", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_JsonValueBreakingInferredType_NamesLineAndColumn()
    {
        var path = _dir.File("types.jsonl");
        await File.WriteAllLinesAsync(path, ["{\"n\":1}", "{\"n\":2}", "{\"n\":\"three\"}"]);

        var e = await ReadFailsAsync(Sources.JsonLines(path));

        Assert.Contains($"{path} line 3, column 'n': 'three'", e.Message, StringComparison.Ordinal);
    }
}
