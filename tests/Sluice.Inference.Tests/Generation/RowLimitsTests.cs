using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.Inference.Generation;

namespace Sluice.Inference.Tests.Generation;

/// <summary>A row's own max tokens and stop strings (as an OpenAI batch file's requests carry them) apply to that row only.</summary>
public sealed class RowLimitsTests(TinyDecoderFixture tiny) : IClassFixture<TinyDecoderFixture>
{
    private const int Cap = 24;
    private static readonly ProcessorContext Context = new("generate", 0, ResourceRequest.OneCpu, []);

    [Theory]
    [InlineData(GenerateOptions.Continuous)]
    [InlineData(GenerateOptions.Static)]
    [InlineData(GenerateOptions.GenAi)]
    public async Task ProcessAsync_RowsWithOwnMaxTokensAndStop_EachRowIsItsBatchOneGreedyRunCutByItsOwnLimits(string engine)
    {
        var prompts = TinyDecoderFixture.Prompts(16, seed: 31);
        var free = prompts.Select(p => tiny.Reference(tiny.Request(p, TinyDecoderFixture.Greedy(Cap)).Prompt, Cap)).ToList();
        // A stop string some row generates: a printable ASCII byte of its output (never part of a multi-byte character).
        string? Printable(int row, int skip) => free[row].Where(t => t is >= 33 and < 127).Skip(skip).Select(t => ((char)t).ToString()).FirstOrDefault();
        var stageStop = Printable(0, 3) ?? "~";
        var maxTokens = new int?[prompts.Count];
        var stops = new List<string>?[prompts.Count];
        for (var i = 0; i < prompts.Count; i++)
        {
            (maxTokens[i], stops[i]) = (i % 4) switch
            {
                0 => ((int?)null, (List<string>?)null),                                         // the stage's limits
                1 => (1 + i % 7, null),                                                          // fewer tokens than the stage's
                2 => (1000, Printable(i, 1) is { } s ? [s] : null),                              // above the cap: capped; own stop
                _ => (5 + i, Printable(i, 2) is { } t ? ["\u0001never", t] : []),                // own stops (an empty list: none)
            };
        }
        var options = new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = Cap, MaxBatch = 4, Stop = [stageStop], Engine = engine };
        await using var processor = new GenerateProcessor(options);
        await processor.InitializeAsync(Context, CancellationToken.None);

        var output = await processor.ProcessAsync(Batch(prompts, maxTokens, stops), CancellationToken.None);

        var text = (StringArray)output.Column(GenerateOptions.TextColumn);
        var completion = (Int32Array)output.Column(GenerateOptions.CompletionTokensColumn);
        var reason = (StringArray)output.Column(GenerateOptions.FinishReasonColumn);
        var reasons = new List<string>();
        for (var i = 0; i < prompts.Count; i++)
        {
            var limit = Math.Min(maxTokens[i] ?? Cap, Cap);
            var (tokens, expectedText, expectedReason) = Cut(tiny.Reference(tiny.Request(prompts[i], TinyDecoderFixture.Greedy(Cap)).Prompt, limit), stops[i] ?? [stageStop]);
            Assert.Equal(expectedText, text.GetString(i));
            Assert.Equal(tokens, completion.GetValue(i));
            Assert.Equal(expectedReason, reason.GetString(i));
            Assert.InRange(completion.GetValue(i)!.Value, 1, limit);
            reasons.Add($"{(stops[i] is null ? "stage" : "own")}-{expectedReason}");
        }
        // The cases are exercised: rows cut by their own stop, by the stage's stop, and by their own (smaller) max tokens.
        Assert.Contains("own-stop", reasons);
        Assert.Contains("stage-stop", reasons);
        Assert.Contains(Enumerable.Range(0, prompts.Count), i => maxTokens[i] < Cap && reason.GetString(i) == FinishReason.Length && completion.GetValue(i) == maxTokens[i]);
    }

    [Fact]
    public async Task ProcessAsync_MaxTokensBelowOne_NamesTheRowColumnAndWhatIsAccepted()
    {
        await using var processor = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 4 });
        await processor.InitializeAsync(Context, CancellationToken.None);

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.ProcessAsync(Batch(["a", "b"], [3, 0], [null, null]), CancellationToken.None).AsTask());

        Assert.StartsWith("row 1: column 'max_tokens' is 0; give a whole number of 1 or more", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessAsync_DefaultStopColumnOfAnotherType_NamesTheOptionAndHowToAvoidIt()
    {
        await using var processor = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 2 });
        await processor.InitializeAsync(Context, CancellationToken.None);
        var batch = new RecordBatch(new Schema([new Field("prompt", StringType.Default, false), new Field("stop", Int64Type.Default, false)], null),
            [new StringArray.Builder().Append("a").Build(), new Int64Array.Builder().Append(3).Build()], 1);

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.ProcessAsync(batch, CancellationToken.None).AsTask());

        Assert.Contains("stop column 'stop' is int64", e.Message, StringComparison.Ordinal);
        Assert.Contains("GenerateOptions.StopColumn; read because the rows have a column 'stop'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessAsync_NamedColumnMissing_IsAnError_DefaultColumnsMissing_AreNoLimit()
    {
        await using var named = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 3, MaxTokensColumn = "limit" });
        await using var plain = new GenerateProcessor(new GenerateOptions(tiny.Files.Directory) { MaxNewTokens = 3 });
        await named.InitializeAsync(Context, CancellationToken.None);
        await plain.InitializeAsync(Context, CancellationToken.None);
        var prompt = new StringArray.Builder().Append("hello").Build();
        var batch = new RecordBatch(new Schema([new Field("prompt", StringType.Default, false)], null), [prompt], 1);

        var e = await Assert.ThrowsAsync<BadInputException>(() => named.ProcessAsync(batch, CancellationToken.None).AsTask());
        var output = await plain.ProcessAsync(batch, CancellationToken.None);

        Assert.Contains("column 'limit' is missing (GenerateOptions.MaxTokensColumn)", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, ((Int32Array)output.Column(GenerateOptions.CompletionTokensColumn)).GetValue(0));
    }

    /// <summary>What the row must give: its greedy tokens cut at eos (left out of the text) or where the text first holds a stop string (cut before it).</summary>
    private (int Tokens, string Text, string Reason) Cut(List<int> tokens, IReadOnlyList<string> stops)
    {
        for (var k = 1; k <= tokens.Count; k++)
        {
            if (tokens[k - 1] == TinyDecoder.EosTokenId) return (k, tiny.Model.Tokenizer.Decode(tokens.Take(k - 1)), FinishReason.Stop);
            var text = tiny.Model.Tokenizer.Decode(tokens.Take(k));
            var at = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (at >= 0) return (k, text[..at], FinishReason.Stop);
        }
        return (tokens.Count, tiny.Model.Tokenizer.Decode(tokens), FinishReason.Length);
    }

    private static RecordBatch Batch(IReadOnlyList<string> prompts, IReadOnlyList<int?> maxTokens, IReadOnlyList<List<string>?> stops)
    {
        var prompt = new StringArray.Builder();
        var max = new Int32Array.Builder();
        var stop = new ListArray.Builder(StringType.Default);
        var stopValues = (StringArray.Builder)stop.ValueBuilder;
        for (var i = 0; i < prompts.Count; i++)
        {
            prompt.Append(prompts[i]);
            max.Append(maxTokens[i]);
            if (stops[i] is not { } s) stop.AppendNull();
            else
            {
                stop.Append();
                foreach (var x in s) stopValues.Append(x);
            }
        }
        return new RecordBatch(new Schema(
            [new Field("prompt", StringType.Default, false), new Field("max_tokens", Int32Type.Default, true), new Field("stop", new ListType(StringType.Default), true)], null),
            [prompt.Build(), max.Build(), stop.Build()], prompts.Count);
    }
}
