using Apache.Arrow;

namespace Sluice.Core.Tests;

public class ArrowBatchesTests
{
    private static RecordBatch Batch(int rows)
    {
        var items = Enumerable.Range(0, rows).Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["id"] = (long)i,
            ["name"] = $"row{i}",
            ["vec"] = new float[] { i, i + 0.5f },
        }).ToList();
        return Rows.ToBatch(items);
    }

    [Fact]
    public void Filter_KeepsExactlyTheMaskedRowsInOrder()
    {
        var batch = Batch(10);
        var keep = Enumerable.Range(0, 10).Select(i => i % 3 != 1).ToArray();
        var rows = Rows.FromBatch(ArrowBatches.Filter(batch, keep));
        Assert.Equal(new long[] { 0, 2, 3, 5, 6, 8, 9 }, rows.Select(r => (long)r["id"]!));
        Assert.Equal(new float[] { 5, 5.5f }, (float[])rows[3]["vec"]!);
    }

    [Fact]
    public void Filter_NothingKept_ReturnsEmptyBatchWithSchema()
    {
        var filtered = ArrowBatches.Filter(Batch(4), new bool[4]);
        Assert.Equal(0, filtered.Length);
        Assert.Equal(3, filtered.Schema.FieldsList.Count);
    }

    [Fact]
    public void Split_ThenConcat_RoundTripsAllRows()
    {
        var batch = Batch(103);
        var parts = ArrowBatches.Split(batch, 25).ToList();
        Assert.Equal(new[] { 25, 25, 25, 25, 3 }, parts.Select(p => p.Length));
        var joined = Rows.FromBatch(ArrowBatches.Concat(parts));
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (long)i), joined.Select(r => (long)r["id"]!));
    }

    [Fact]
    public void ByteSize_OfSlice_CountsOnlyItsRows()
    {
        var batch = Batch(1000);
        var whole = ArrowBatches.ByteSize(batch);
        var half = ArrowBatches.ByteSize(batch.Slice(0, 500));
        Assert.InRange(half, whole * 0.45, whole * 0.55);
    }

    [Fact]
    public void TensorColumns_CreateAndRead_KeepShapeAndValues()
    {
        var flat = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var (field, array) = TensorColumns.Create("t", flat, rows: 2, shape: [2, 3]);
        Assert.Equal([2, 3], TensorColumns.RowShape(field));
        var sliced = (FixedSizeListArray)ArrowArrayFactory.Slice(array, 1, 1);
        Assert.Equal(flat[6..], TensorColumns.Elements<float>(sliced).ToArray());
    }

    [Fact]
    public void Rows_RaggedArrays_BecomeListColumns_FixedOnesTensorColumns()
    {
        var schema = Rows.InferSchema(
        [
            new Dictionary<string, object?> { ["fixed"] = new long[] { 1, 2 }, ["ragged"] = new long[] { 1 } },
            new Dictionary<string, object?> { ["fixed"] = new long[] { 3, 4 }, ["ragged"] = new long[] { 1, 2, 3 } },
        ]);
        Assert.IsType<Apache.Arrow.Types.FixedSizeListType>(schema.GetFieldByName("fixed").DataType);
        Assert.IsType<Apache.Arrow.Types.ListType>(schema.GetFieldByName("ragged").DataType);
    }

    [Fact]
    public void Rows_UnsupportedValue_NamesTheColumnAndTheAcceptedTypes()
    {
        var e = Assert.Throws<ArgumentException>(() => Rows.InferSchema([new Dictionary<string, object?> { ["when"] = DateTime.UnixEpoch }]));
        Assert.Contains("column 'when'", e.Message);
        Assert.Contains("string, long", e.Message);
    }
}
