using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.IO.Tests;

public sealed class ParquetDatasinkTests : DatasinkConformance
{
    protected override string Extension => "parquet";

    protected override Datasink Create(string directory) => Sinks.Parquet(directory);

    protected override Datasource ReadBack(string directory) => Sources.Parquet(directory);

    [Fact]
    public async Task WriteAsync_FixedSizeListFloatColumn_RoundTripsThroughParquetSource()
    {
        var flat = Enumerable.Range(0, 3 * 6).Select(i => i * 0.5f).ToArray();
        var (field, array) = TensorColumns.Create("emb", flat, rows: 3, shape: [2, 3]);
        var batch = ArrowBatches.WithColumn(Samples.Batch(Samples.Rows(3)), field, array);
        var sink = Create(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(new Block(batch, new BlockLineage(0, "t", 0, 0)), CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);

        var source = ReadBack(Out);
        var schema = await source.InferSchemaAsync(CancellationToken.None);
        var task = Assert.Single(await source.PlanAsync(CancellationToken.None));
        var read = Assert.Single(await Samples.ReadBatchesAsync(task, 100));

        var emb = schema!.GetFieldByName("emb");
        var type = Assert.IsType<FixedSizeListType>(emb.DataType);
        Assert.Equal(6, type.ListSize);
        Assert.IsType<FloatType>(type.ValueDataType);
        Assert.Equal([2, 3], TensorColumns.RowShape(emb));
        var column = Assert.IsType<FixedSizeListArray>(read.Column("emb"));
        Assert.Equal(flat, TensorColumns.Elements<float>(column).ToArray());
    }

    [Fact]
    public async Task WriteAsync_BlockWithOtherColumns_RefusedNamingBoth()
    {
        var sink = Create(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 0, 2), CancellationToken.None);
        var other = Rows.ToBatch([new Dictionary<string, object?> { ["id"] = "one" }]);

        var e = await Assert.ThrowsAsync<SluiceException>(() => sink.WriteAsync(new Block(other, new BlockLineage(1, "u", 0, 0)), CancellationToken.None).AsTask());

        Assert.Contains("id: utf8", e.Message, StringComparison.Ordinal);
        Assert.Contains("id: int64", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(Out, ".tmp")));
    }

    [Fact]
    public async Task WriteAsync_NullableAndNonNullableBlocks_AllPartsShareOneSchema()
    {
        var sink = Create(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        var ids = new Int64Array.Builder().Append(1).Build();
        var strict = new RecordBatch(new Schema([new Field("id", Int64Type.Default, nullable: false)], null), [ids], 1);
        await sink.WriteAsync(new Block(strict, new BlockLineage(0, "a", 0, 0)), CancellationToken.None);
        var nulls = new Int64Array.Builder().AppendNull().Build();
        var loose = new RecordBatch(new Schema([new Field("id", Int64Type.Default, nullable: true)], null), [nulls], 1);
        await sink.WriteAsync(new Block(loose, new BlockLineage(1, "b", 0, 0)), CancellationToken.None);

        var rows = await Samples.ReadAllRowsAsync(ReadBack(Out));

        Assert.Equal(new object?[] { 1L, null }, rows.Select(r => r["id"]));
    }
}
