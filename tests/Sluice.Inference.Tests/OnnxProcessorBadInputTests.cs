using Apache.Arrow;

namespace Sluice.Inference.Tests;

[Collection("models")]
public sealed class OnnxProcessorBadInputTests(ModelFixture models)
{
    private static async Task<OnnxProcessor> CreateAsync(OnnxOptions options)
    {
        var processor = new OnnxProcessor(options);
        await processor.InitializeAsync(Batches.Context(), CancellationToken.None);
        return processor;
    }

    private static RecordBatch Tensors(int rows, params (string Name, System.Array Values, int Width)[] columns)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        foreach (var (name, values, width) in columns)
        {
            var (field, array) = values switch
            {
                long[] l => TensorColumns.Create(name, l, rows, [width]),
                float[] f => TensorColumns.Create(name, f, rows, [width]),
                _ => throw new ArgumentException("long[] or float[]"),
            };
            fields.Add(field);
            arrays.Add(array);
        }
        return new RecordBatch(new Schema(fields, null), arrays, rows);
    }

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

    [Fact]
    public async Task InitializeAsync_MissingModelFile_ThrowsNamingPath()
    {
        var path = Path.Combine(models.Root, "missing", "model.onnx");
        await using var processor = new OnnxProcessor(new OnnxOptions(path));

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.InitializeAsync(Batches.Context(), CancellationToken.None).AsTask());

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task InitializeAsync_NotAModel_ThrowsNamingPath()
    {
        var path = Path.Combine(models.Root, "garbage.onnx");
        await File.WriteAllTextAsync(path, "this is not protobuf");
        await using var processor = new OnnxProcessor(new OnnxOptions(path));

        var e = await Assert.ThrowsAsync<SluiceException>(() => processor.InitializeAsync(Batches.Context(), CancellationToken.None).AsTask());

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Constructor_UnknownExecutionProvider_ThrowsListingSupported()
    {
        var e = Assert.Throws<SluiceException>(() => new OnnxProcessor(new OnnxOptions(models.MiniLm.Model) { ExecutionProvider = "tensorrt" }));

        Assert.Contains("tensorrt", e.Message);
        Assert.Contains("ExecutionProvider", e.Message);
        Assert.Contains("cpu", e.Message);
    }

    [Fact]
    public async Task InitializeAsync_UnknownModelInputInMapping_ThrowsListingRealInputs()
    {
        await using var processor = new OnnxProcessor(new OnnxOptions(models.MiniLm.Model) { Inputs = new Dictionary<string, string> { ["ids"] = "input_ids" } });

        var e = await Assert.ThrowsAsync<SluiceException>(() => processor.InitializeAsync(Batches.Context(), CancellationToken.None).AsTask());

        Assert.Contains("'ids'", e.Message);
        Assert.Contains("input_ids", e.Message);
        Assert.Contains("attention_mask", e.Message);
        Assert.Contains("token_type_ids", e.Message);
    }

    [Fact]
    public async Task InitializeAsync_UnknownModelOutputInMapping_ThrowsListingRealOutputs()
    {
        await using var processor = new OnnxProcessor(new OnnxOptions(models.MiniLm.Model) { Outputs = new Dictionary<string, string> { ["pooled"] = "p" } });

        var e = await Assert.ThrowsAsync<SluiceException>(() => processor.InitializeAsync(Batches.Context(), CancellationToken.None).AsTask());

        Assert.Contains("'pooled'", e.Message);
        Assert.Contains("last_hidden_state", e.Message);
    }

    [Fact]
    public async Task ProcessAsync_MissingColumn_ThrowsNamingColumnAndModelInput()
    {
        await using var model = await CreateAsync(new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean });
        var batch = Tensors(1, ("input_ids", Ones(8), 8), ("attention_mask", Ones(8), 8));

        var e = await Assert.ThrowsAsync<BadInputException>(() => model.ProcessAsync(batch, CancellationToken.None).AsTask());

        Assert.Contains("column 'token_type_ids' is missing", e.Message);
        Assert.Contains("Int64", e.Message);
        Assert.Contains("input_ids", e.Message);
    }

    [Fact]
    public async Task ProcessAsync_FloatColumnForInt64Input_ThrowsNamingBothTypes()
    {
        await using var model = await CreateAsync(new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean });
        var batch = Tensors(1, ("input_ids", new float[8], 8), ("attention_mask", Ones(8), 8), ("token_type_ids", new long[8], 8));

        var e = await Assert.ThrowsAsync<BadInputException>(() => model.ProcessAsync(batch, CancellationToken.None).AsTask());

        Assert.Contains("column 'input_ids'", e.Message);
        Assert.Contains("model input 'input_ids'", e.Message);
        Assert.Contains("float", e.Message);
        Assert.Contains("Int64", e.Message);
    }

    [Fact]
    public async Task ProcessAsync_WrongWidthForFixedDims_ThrowsNamingExpectedAndActualShape()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny"), TinyOnnx.Float, "N", 4);
        await using var model = await CreateAsync(new OnnxOptions(path));
        var batch = Tensors(2, ("x", new float[6], 3));

        var e = await Assert.ThrowsAsync<BadInputException>(() => model.ProcessAsync(batch, CancellationToken.None).AsTask());

        Assert.Contains("column 'x'", e.Message);
        Assert.Contains("model input 'x'", e.Message);
        Assert.Contains("[3]", e.Message);
        Assert.Contains("Float [N,4]", e.Message);
    }

    [Fact]
    public async Task ProcessAsync_FixedBatchOfOne_ThrowsNamingBatchSize()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny"), TinyOnnx.Float, 1, 4);
        await using var model = await CreateAsync(new OnnxOptions(path));
        var batch = Tensors(2, ("x", new float[8], 4));

        var e = await Assert.ThrowsAsync<BadInputException>(() => model.ProcessAsync(batch, CancellationToken.None).AsTask());

        Assert.Contains("fixed batch of 1", e.Message);
        Assert.Contains("2 rows", e.Message);
    }

    [Fact]
    public async Task ProcessAsync_StringColumnForTensorInput_ThrowsNamingColumn()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny"), TinyOnnx.Int64, "N", 2);
        await using var model = await CreateAsync(new OnnxOptions(path));

        var e = await Assert.ThrowsAsync<BadInputException>(() => model.ProcessAsync(Batches.Text(["a"], column: "x"), CancellationToken.None).AsTask());

        Assert.Contains("column 'x' is utf8, not a tensor column", e.Message);
    }

    [Fact]
    public void Constructor_NormalizeWithoutPooling_ThrowsNamingField()
    {
        var e = Assert.Throws<SluiceException>(() => new OnnxProcessor(new OnnxOptions(models.MiniLm.Model) { Normalize = true }));

        Assert.Contains("Normalize", e.Message);
    }
}
