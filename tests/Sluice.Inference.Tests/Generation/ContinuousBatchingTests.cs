using Sluice.Inference.Generation;

namespace Sluice.Inference.Tests.Generation;

public sealed class ContinuousBatchingTests(TinyDecoderFixture tiny) : IClassFixture<TinyDecoderFixture>
{
    // Mixed lengths both ways: prompts of 1..60 characters, and 2..29 new tokens per row, so rows finish at different steps.
    private static int MaxNew(int row) => 2 + (row * 7 % 28);

    [Fact]
    public async Task Continuous_MixedLengthsNarrowerThanRows_EveryRowEqualsItsBatchOneGreedyRun()
    {
        var prompts = TinyDecoderFixture.Prompts(14);
        var requests = prompts.Select((p, i) => tiny.Request(p, TinyDecoderFixture.Greedy(MaxNew(i)))).ToList();
        var batcher = new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch: 4, continuous: true);

        var results = await batcher.GenerateAsync(requests, CancellationToken.None);

        for (var i = 0; i < requests.Count; i++)
        {
            var expected = tiny.Reference(requests[i].Prompt, MaxNew(i));
            Assert.Equal(expected, results[i].Tokens);
            Assert.Equal(expected[^1] == TinyDecoder.EosTokenId ? FinishReason.Stop : FinishReason.Length, results[i].FinishReason);
        }
        // 14 rows through 4 slots: rows joined while others were mid-generation.
        Assert.True(batcher.Steps < requests.Sum(r => r.Settings.MaxNewTokens), $"steps {batcher.Steps}");
    }

    [Fact]
    public async Task Static_SameRows_EqualTheReferenceAndTakeMoreStepsThanContinuous()
    {
        var prompts = TinyDecoderFixture.Prompts(14);
        var requests = prompts.Select((p, i) => tiny.Request(p, TinyDecoderFixture.Greedy(MaxNew(i)))).ToList();
        var continuous = new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch: 4, continuous: true);
        var statics = new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch: 4, continuous: false);

        var a = await continuous.GenerateAsync(requests, CancellationToken.None);
        var b = await statics.GenerateAsync(requests, CancellationToken.None);

        for (var i = 0; i < requests.Count; i++)
        {
            Assert.Equal(tiny.Reference(requests[i].Prompt, MaxNew(i)), b[i].Tokens);
            Assert.Equal(a[i], b[i], GenerationComparer.Instance);
        }
        // A static batch steps until its longest row is done; continuous refills the slot of a finished row.
        Assert.True(continuous.Steps < statics.Steps, $"continuous {continuous.Steps} steps, static {statics.Steps}");
    }

    [Fact]
    public async Task GenAi_RightPaddedStaticBatches_AgreeWithTheReference()
    {
        var prompts = TinyDecoderFixture.Prompts(10, seed: 9);
        var requests = prompts.Select((p, i) => tiny.Request(p, TinyDecoderFixture.Greedy(MaxNew(i)))).ToList();
        using var genai = GenAiEngine.Load(new GenerateOptions(tiny.Files.Directory) { MaxBatch = 4 }, tiny.Model);

        var results = await Task.Run(() => genai.Generate(requests, CancellationToken.None));

        for (var i = 0; i < requests.Count; i++)
            Assert.Equal(tiny.Reference(requests[i].Prompt, MaxNew(i)), results[i].Tokens);
    }

    [Fact]
    public async Task Sampling_SameSeed_SameRowsWhateverTheBatching_OtherSeedDiffers()
    {
        var prompts = TinyDecoderFixture.Prompts(8, seed: 3);
        GenerationSettings Sampled(long seed) => new(20, new HashSet<int> { TinyDecoder.EosTokenId }, [], new TokenSampler(0.9, 40, 0.95), seed);
        async Task<GenerationResult[]> Run(long seed, int maxBatch) =>
            await new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch, continuous: true)
                .GenerateAsync(prompts.Select(p => tiny.Request(p, Sampled(seed))), CancellationToken.None);

        var first = await Run(7, maxBatch: 3);
        var again = await Run(7, maxBatch: 8);
        var other = await Run(8, maxBatch: 3);
        var greedy = await new ContinuousBatcher(new DecoderRunner(tiny.Model), 3, continuous: true)
            .GenerateAsync(prompts.Select(p => tiny.Request(p, TinyDecoderFixture.Greedy(20))), CancellationToken.None);

        Assert.Equal(first, again, GenerationComparer.Instance);
        Assert.NotEqual(first.Select(g => g.Tokens), other.Select(g => g.Tokens), new SequenceComparer());
        Assert.NotEqual(first.Select(g => g.Tokens), greedy.Select(g => g.Tokens), new SequenceComparer());
    }

    [Fact]
    public async Task StopTokenAndStopString_EndTheRowWithReasonStop()
    {
        var prompts = TinyDecoderFixture.Prompts(12, seed: 11);
        var batcher = new ContinuousBatcher(new DecoderRunner(tiny.Model), 4, continuous: true);
        var free = await batcher.GenerateAsync(prompts.Select(p => tiny.Request(p, TinyDecoderFixture.Greedy(24))), CancellationToken.None);

        // A stop token: the third token of row 0 (where it first appears, the row ends, that token included).
        var stopId = free[0].Tokens[2];
        var cut = free[0].Tokens.ToList().IndexOf(stopId) + 1;
        var byToken = await batcher.GenerateAsync([tiny.Request(prompts[0], TinyDecoderFixture.Greedy(24, stopIds: [stopId]))], CancellationToken.None);
        Assert.Equal(free[0].Tokens.Take(cut), byToken[0].Tokens);
        Assert.Equal(FinishReason.Stop, byToken[0].FinishReason);
        Assert.Equal(tiny.Model.Tokenizer.Decode(free[0].Tokens.Take(cut - 1)), byToken[0].Text);

        // A stop string: a printable ASCII byte some row generated (it cannot be part of a multi-byte character).
        var (row, at) = Enumerable.Range(0, free.Length)
            .SelectMany(r => free[r].Tokens.Select((t, i) => (r, i, t)).Where(x => x.i > 0 && x.t is >= 33 and < 127).Select(x => (x.r, x.i)))
            .First();
        var stop = ((char)free[row].Tokens[at]).ToString();
        var first = free[row].Tokens.ToList().IndexOf(free[row].Tokens[at]);
        var byString = await batcher.GenerateAsync([tiny.Request(prompts[row], TinyDecoderFixture.Greedy(24, stop: [stop]))], CancellationToken.None);
        Assert.Equal(free[row].Tokens.Take(first + 1), byString[0].Tokens);
        Assert.Equal(FinishReason.Stop, byString[0].FinishReason);
        Assert.Equal(tiny.Model.Tokenizer.Decode(free[row].Tokens.Take(first)), byString[0].Text);
        Assert.DoesNotContain(stop, byString[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_ByteLevelBpeFromTokenizerJson_RoundTripsUtf8()
    {
        const string text = "Hello, wörld! 1+1=2 \u2603";
        var ids = tiny.Model.Tokenizer.Encode(text);

        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b), ids);
        Assert.Equal(text, tiny.Model.Tokenizer.Decode(ids));
    }

    private sealed class SequenceComparer : IEqualityComparer<IEnumerable<IReadOnlyList<int>>>
    {
        public bool Equals(IEnumerable<IReadOnlyList<int>>? x, IEnumerable<IReadOnlyList<int>>? y) =>
            x!.Zip(y!).All(p => p.First.SequenceEqual(p.Second)) && x!.Count() == y!.Count();

        public int GetHashCode(IEnumerable<IReadOnlyList<int>> obj) => 0;
    }
}

internal sealed class GenerationComparer : IEqualityComparer<GenerationResult>
{
    public static GenerationComparer Instance { get; } = new();

    public bool Equals(GenerationResult? x, GenerationResult? y) =>
        x is not null && y is not null && x.Tokens.SequenceEqual(y.Tokens) && x.Text == y.Text && x.FinishReason == y.FinishReason;

    public int GetHashCode(GenerationResult obj) => obj.Tokens.Count;
}
