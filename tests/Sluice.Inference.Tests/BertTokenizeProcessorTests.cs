using Apache.Arrow;

namespace Sluice.Inference.Tests;

[Collection("models")]
public sealed class BertTokenizeProcessorTests(ModelFixture models)
{
    private async Task<BertTokenizeProcessor> CreateAsync(int maxLength = 16, string column = "text")
    {
        var processor = new BertTokenizeProcessor(new BertTokenizeOptions(models.MiniLm.Vocab, column, maxLength));
        await processor.InitializeAsync(Batches.Context(), CancellationToken.None);
        return processor;
    }

    [Fact]
    public async Task ProcessAsync_Text_AppendsThreeInt64TensorColumns()
    {
        await using var processor = await CreateAsync(maxLength: 8);

        var output = await processor.ProcessAsync(Batches.Text(["A man is eating food.", null]), CancellationToken.None);

        Assert.Equal(["text", "input_ids", "attention_mask", "token_type_ids"], output.Schema.FieldsList.Select(f => f.Name));
        foreach (var name in new[] { "input_ids", "attention_mask", "token_type_ids" })
        {
            var field = output.Schema.GetFieldByName(name);
            Assert.Equal([8], TensorColumns.RowShape(field));
            Assert.Equal(Apache.Arrow.Types.ArrowTypeId.Int64, ((Apache.Arrow.Types.FixedSizeListType)field.DataType).ValueDataType.TypeId);
        }
        // [CLS] a man is eating food . [SEP], then the null row as empty text: [CLS] [SEP] and padding.
        Assert.Equal([101, 1037, 2158, 2003, 5983, 2833, 1012, 102, 101, 102, 0, 0, 0, 0, 0, 0],
            TensorColumns.Elements<long>(Batches.Tensor(output, "input_ids")).ToArray());
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
            TensorColumns.Elements<long>(Batches.Tensor(output, "attention_mask")).ToArray());
        Assert.All(TensorColumns.Elements<long>(Batches.Tensor(output, "token_type_ids")).ToArray(), v => Assert.Equal(0, v));
    }

    [Fact]
    public async Task ProcessAsync_LongText_TruncatesEndingWithSep()
    {
        await using var processor = await CreateAsync(maxLength: 6);

        var output = await processor.ProcessAsync(Batches.Text(["one two three four five six seven eight"]), CancellationToken.None);

        var ids = TensorColumns.Elements<long>(Batches.Tensor(output, "input_ids")).ToArray();
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[5]);
    }

    [Fact]
    public async Task ProcessAsync_ConcurrentCalls_MatchSequential()
    {
        await using var processor = await CreateAsync(maxLength: 64);
        var batches = Enumerable.Range(0, 8).Select(i => Batches.Text(Batches.Sentences.Skip(i).Take(7))).ToList();
        var sequential = new List<long[]>();
        foreach (var b in batches)
            sequential.Add(TensorColumns.Elements<long>(Batches.Tensor(await processor.ProcessAsync(b, CancellationToken.None), "input_ids")).ToArray());

        var concurrent = await Task.WhenAll(batches.Select(b => Task.Run(async () =>
            TensorColumns.Elements<long>(Batches.Tensor(await processor.ProcessAsync(b, CancellationToken.None), "input_ids")).ToArray())));

        Assert.Equal(sequential, concurrent);
    }

    [Fact]
    public async Task InitializeAsync_MissingVocab_ThrowsNamingPath()
    {
        var path = Path.Combine(models.Root, "no-such-vocab.txt");
        await using var processor = new BertTokenizeProcessor(new BertTokenizeOptions(path));

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.InitializeAsync(Batches.Context(), CancellationToken.None).AsTask());

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task ProcessAsync_MissingColumn_ThrowsNamingColumnAndListingPresent()
    {
        await using var processor = await CreateAsync(column: "body");

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.ProcessAsync(Batches.Text(["hi"], column: "title"), CancellationToken.None).AsTask());

        Assert.Contains("'body'", e.Message);
        Assert.Contains("title", e.Message);
    }

    [Fact]
    public async Task ProcessAsync_NonStringColumn_ThrowsNamingColumnAndType()
    {
        await using var processor = await CreateAsync();
        var ids = new Int64Array.Builder().Append(1).Build();
        var batch = new RecordBatch(new Schema([new Field("text", Apache.Arrow.Types.Int64Type.Default, false)], null), [ids], 1);

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.ProcessAsync(batch, CancellationToken.None).AsTask());

        Assert.Contains("'text'", e.Message);
        Assert.Contains("int64", e.Message);
    }

    [Fact]
    public void Constructor_MaxLengthTooLarge_ThrowsNamingField()
    {
        var e = Assert.Throws<SluiceException>(() => new BertTokenizeProcessor(new BertTokenizeOptions("vocab.txt", MaxLength: 1000)));

        Assert.Contains("MaxLength", e.Message);
        Assert.Contains("1000", e.Message);
    }
}
