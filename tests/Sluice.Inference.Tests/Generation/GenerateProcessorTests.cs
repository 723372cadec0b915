using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.Inference.Generation;

namespace Sluice.Inference.Tests.Generation;

public sealed class GenerateProcessorTests(TinyDecoderFixture tiny) : IClassFixture<TinyDecoderFixture>
{
    private static readonly ProcessorContext Context = new("generate", 0, ResourceRequest.OneCpu, []);

    private static RecordBatch Batch(string column, IEnumerable<string?> values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values) b.Append(v);
        var array = b.Build();
        return new RecordBatch(new Schema([new Field(column, StringType.Default, true)], null), [array], array.Length);
    }

    private static List<(string Text, int Completion, string Reason)> Rows(RecordBatch batch)
    {
        var text = (StringArray)batch.Column(GenerateOptions.TextColumn);
        var completion = (Int32Array)batch.Column(GenerateOptions.CompletionTokensColumn);
        var reason = (StringArray)batch.Column(GenerateOptions.FinishReasonColumn);
        return [.. Enumerable.Range(0, batch.Length).Select(i => (text.GetString(i), completion.GetValue(i)!.Value, reason.GetString(i)))];
    }

    [Fact]
    public async Task ConcurrentBatches_ShareOneLoop_RowsEqualThoseGeneratedOneAtATime()
    {
        var prompts = TinyDecoderFixture.Prompts(18, seed: 21);
        var options = new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 20, MaxBatch = 5 };
        await using var shared = new GenerateProcessor(options);
        await using var alone = new GenerateProcessor(options with { MaxBatch = 1 });
        await shared.InitializeAsync(Context, CancellationToken.None);
        await alone.InitializeAsync(Context, CancellationToken.None);

        // Three batches at once, as an actor with max_concurrency 3 gets them: their rows join one continuous batch.
        var outputs = await Task.WhenAll(prompts.Chunk(6).Select(c => shared.ProcessAsync(Batch("prompt", c), CancellationToken.None).AsTask()));
        var one = Rows(await alone.ProcessAsync(Batch("prompt", prompts), CancellationToken.None));

        Assert.Equal(one, outputs.SelectMany(Rows).ToList());
        Assert.Equal(one.Sum(r => r.Completion), shared.GeneratedTokens);
        Assert.All(outputs, o => Assert.Equal("prompt", o.Schema.GetFieldByIndex(0).Name)); // the input columns stay
    }

    [Fact]
    public async Task Sampling_SeedColumn_SamePromptDrawsPerRow_AndEachRowIsTheSameWhateverItsBatch()
    {
        RecordBatch Rows_(IEnumerable<long> ids)
        {
            var list = ids.ToList();
            var id = new Int64Array.Builder();
            var prompt = new StringArray.Builder();
            foreach (var i in list) { id.Append(i); prompt.Append("the same prompt"); }
            return new RecordBatch(new Schema([new Field("id", Int64Type.Default, false), new Field("prompt", StringType.Default, false)], null), [id.Build(), prompt.Build()], list.Count);
        }
        var options = new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 16, Temperature = 1.0, Seed = 99, MaxBatch = 3 };
        await using var keyed = new GenerateProcessor(options with { SeedColumn = "id" });
        await using var unkeyed = new GenerateProcessor(options);
        await keyed.InitializeAsync(Context, CancellationToken.None);
        await unkeyed.InitializeAsync(Context, CancellationToken.None);

        var all = Rows(await keyed.ProcessAsync(Rows_(Enumerable.Range(0, 6).Select(i => (long)i)), CancellationToken.None));
        var split = Rows(await keyed.ProcessAsync(Rows_([4, 5]), CancellationToken.None));
        var same = Rows(await unkeyed.ProcessAsync(Rows_(Enumerable.Range(0, 6).Select(i => (long)i)), CancellationToken.None));

        Assert.True(all.Select(r => r.Text).Distinct().Count() > 1, "rows with one prompt but different ids all drew the same text");
        Assert.Equal(all.Skip(4), split);
        Assert.Single(same.Select(r => r.Text).Distinct());
    }

    [Fact]
    public async Task CancelledBatch_Throws_OtherBatchesStillComplete()
    {
        var prompts = TinyDecoderFixture.Prompts(8, seed: 4);
        await using var processor = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 200, MaxBatch = 2 });
        await processor.InitializeAsync(Context, CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var doomed = processor.ProcessAsync(Batch("prompt", prompts), cancel.Token).AsTask();
        cancel.Cancel();
        var survivor = await processor.ProcessAsync(Batch("prompt", prompts.Take(2)), CancellationToken.None);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => doomed);
        Assert.Equal(2, survivor.Length);
    }

    [Fact]
    public async Task MissingColumnOrNullPrompt_NamesTheColumnOrRow()
    {
        await using var processor = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { PromptColumn = "question" });
        await processor.InitializeAsync(Context, CancellationToken.None);

        var missing = await Assert.ThrowsAsync<BadInputException>(() => processor.ProcessAsync(Batch("text", ["a"]), CancellationToken.None).AsTask());
        var nullRow = await Assert.ThrowsAsync<BadInputException>(() => processor.ProcessAsync(Batch("question", ["a", null]), CancellationToken.None).AsTask());

        Assert.Contains("'question' is missing", missing.Message, StringComparison.Ordinal);
        Assert.Contains("text", missing.Message, StringComparison.Ordinal);
        Assert.StartsWith("row 1:", nullRow.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_ConflictsAndBadValues_NameTheOptionAndWhatIsAccepted()
    {
        var problems = new GenerateOptions("m") { PromptColumn = "a", Template = "{b", Engine = "vllm", TopP = 0, Temperature = -1 }.Problems().ToList();
        Assert.Contains(problems, p => p.Member == nameof(GenerateOptions.Template) && p.Accepted.Contains("not both", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Member == nameof(GenerateOptions.Template) && p.Accepted.Contains("not closed", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Member == nameof(GenerateOptions.Engine) && p.Accepted.Contains("continuous, static, genai", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Member == nameof(GenerateOptions.TopP));
        Assert.Contains(problems, p => p.Member == nameof(GenerateOptions.Temperature));
        Assert.Contains(new GenerateOptions("m") { Engine = "genai", Temperature = 0.7 }.Problems(), p => p.Member == nameof(GenerateOptions.Temperature));
        Assert.Empty(new GenerateOptions("m") { Template = "Q: {question}\nA: {{literal}}" }.Problems());
        Assert.Equal(["question"], new GenerateOptions("m") { Template = "Q: {question}\nA: {{literal}}" }.PromptColumns());
    }

    [Fact]
    public async Task Template_RendersColumnsAndEscapedBraces()
    {
        await using var processor = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { Template = "{{{a}}}-{b}", MaxNewTokens = 1 });
        await processor.InitializeAsync(Context, CancellationToken.None);
        var a = new StringArray.Builder().Append("x").Build();
        var b = new Int64Array.Builder().Append(42).Build();
        var batch = new RecordBatch(new Schema([new Field("a", StringType.Default, false), new Field("b", Int64Type.Default, false)], null), [a, b], 1);

        var output = await processor.ProcessAsync(batch, CancellationToken.None);

        // bos + the bytes of "{x}-42".
        Assert.Equal(1 + "{x}-42".Length, ((Int32Array)output.Column(GenerateOptions.PromptTokensColumn)).GetValue(0));
        Assert.Equal(FinishReason.Length, ((StringArray)output.Column(GenerateOptions.FinishReasonColumn)).GetString(0));
    }
}
