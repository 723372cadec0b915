using ParquetSharp.Arrow;
using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

public sealed class ParquetDatasourceTests : DatasourceConformance
{
    protected override string Extension => "parquet";

    protected override Datasource Open(string path) => Sources.Parquet(path);

    /// <summary>Row groups of 4 rows, so a 10-row file has three read tasks.</summary>
    protected override void WriteFixture(string path, IReadOnlyList<SampleRow> rows)
    {
        var batch = Batch(rows);
        using var writer = new FileWriter(path, batch.Schema);
        writer.WriteRecordBatch(batch, chunkSize: 4);
        writer.Close();
    }

    [Fact]
    public async Task PlanAsync_ThreeRowGroups_OneTaskPerRowGroup()
    {
        var path = Dir.File("data.parquet");
        WriteFixture(path, Rows(10));

        var tasks = await Open(path).PlanAsync(CancellationToken.None);

        Assert.Equal([$"{path}#rg0", $"{path}#rg1", $"{path}#rg2"], tasks.Select(t => t.Id));
        Assert.Equal(new[] { 4, 4, 2 }, await Task.WhenAll(tasks.Select(async t => (await ReadBatchesAsync(t, 100)).Sum(b => b.Length))));
    }

    [Fact]
    public async Task Estimate_ThreeRowGroups_ExactRowsAndOneTaskPerGroup()
    {
        var path = Dir.File("data.parquet");
        WriteFixture(path, Rows(10));

        var estimate = Open(path).Estimate()!;

        Assert.Equal(10, estimate.Rows);
        Assert.Equal(3, estimate.ReadTasks);
        Assert.Equal((await Open(path).PlanAsync(CancellationToken.None)).Count, estimate.ReadTasks);
        Assert.Contains("one read task per row group", estimate.Splitting, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_NotParquet_BadInputNamesTheFile()
    {
        var path = Dir.File("fake.parquet");
        await File.WriteAllTextAsync(path, "this is not parquet");

        var e = await Assert.ThrowsAsync<BadInputException>(() => Open(path).PlanAsync(CancellationToken.None).AsTask());

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
