using System.Globalization;
using System.Text;
using Apache.Arrow.Types;
using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

public sealed class CsvDatasourceTests : DatasourceConformance
{
    protected override string Extension => "csv";

    protected override Datasource Open(string path) => Sources.Csv(path);

    protected override void WriteFixture(string path, IReadOnlyList<SampleRow> rows)
    {
        var text = new StringBuilder("id,name,score\n");
        foreach (var r in rows)
            text.Append(CultureInfo.InvariantCulture, $"{r.Id},\"{r.Name.Replace("\"", "\"\"", StringComparison.Ordinal)}\",{r.Score}\n");
        File.WriteAllText(path, text.ToString());
    }

    [Fact]
    public async Task PlanAsync_FileLargerThanASplit_WithQuotedLineBreaks_IsOneTaskAndTheEstimateSaysWhy()
    {
        // Larger than the text and JSON Lines split size: a byte cut could land inside the quoted field.
        var path = Dir.File("big.csv");
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteAsync("id,note\n1,\"first line\nsecond line\"\n");
            var row = "2,plain\n";
            var rows = new StringBuilder(1 << 20);
            while (rows.Length < (1 << 20) - row.Length) rows.Append(row);
            for (var i = 0; i < 34; i++) await writer.WriteAsync(rows);
        }

        var source = Sources.Csv(path);
        var tasks = await source.PlanAsync(CancellationToken.None);
        var estimate = source.Estimate()!;

        Assert.True(new FileInfo(path).Length > 32L * 1024 * 1024);
        Assert.Equal([path], tasks.Select(t => t.Id));
        Assert.Equal(1, estimate.ReadTasks);
        Assert.Contains("CSV is not split, a quoted field may hold line breaks", estimate.Splitting, StringComparison.Ordinal);
        await foreach (var batch in tasks[0].ReadAsync(10, CancellationToken.None))
        {
            Assert.Equal("first line\nsecond line", ((Apache.Arrow.StringArray)batch.Column("note")).GetString(0));
            break;
        }
    }

    [Fact]
    public async Task ReadAsync_InferredTypes_Int64Float64BoolStringAndNulls()
    {
        var path = Dir.File("types.csv");
        await File.WriteAllTextAsync(path, "a;b;c;d\n1;1.5;true;x\n;2;False;\n");

        var source = Sources.Csv(path, new CsvOptions { Delimiter = ';' });
        var schema = await source.InferSchemaAsync(CancellationToken.None);
        var rows = await ReadAllRowsAsync(source);

        Assert.Equal(["int64", "double", "bool", "utf8"], schema!.FieldsList.Select(f => f.DataType.Name));
        Assert.Equal(new Dictionary<string, object?> { ["a"] = null, ["b"] = 2.0, ["c"] = false, ["d"] = null }, rows[1]);
    }

    [Fact]
    public async Task ReadAsync_DeclaredStringColumn_KeepsDigitsAsText()
    {
        var path = Dir.File("zip.csv");
        await File.WriteAllTextAsync(path, "zip\n01234\n");

        var rows = await ReadAllRowsAsync(Sources.Csv(path, new CsvOptions { ColumnTypes = new Dictionary<string, string> { ["zip"] = "string" } }));

        Assert.Equal("01234", rows[0]["zip"]);
    }

    [Fact]
    public void Csv_UnknownDeclaredType_ThrowsNamingFieldAndAccepted()
    {
        var e = Assert.Throws<SluiceException>(() => Sources.Csv("x.csv", new CsvOptions { ColumnTypes = new Dictionary<string, string> { ["age"] = "integer" } }));

        Assert.Contains("ColumnTypes['age'] is 'integer'", e.Message, StringComparison.Ordinal);
        Assert.Contains("int64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferSchemaAsync_SampleFile_Int64StringFloat64()
    {
        var path = Dir.File("s.csv");
        WriteFixture(path, Rows(3));

        var schema = await Open(path).InferSchemaAsync(CancellationToken.None);

        Assert.Equal(new IArrowType[] { Int64Type.Default, StringType.Default, DoubleType.Default }.Select(t => t.Name), schema!.FieldsList.Select(f => f.DataType.Name));
    }
}
