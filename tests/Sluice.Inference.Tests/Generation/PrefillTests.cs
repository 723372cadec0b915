using Sluice.Inference.Generation;

namespace Sluice.Inference.Tests.Generation;

/// <summary>Prompts prefilled together, right-padded in one Run, give every row what it gets prefilled alone.</summary>
public sealed class PrefillTests(TinyDecoderFixture tiny) : IClassFixture<TinyDecoderFixture>
{
    [Fact]
    public void Prefill_MixedLengthsInOneRun_LogitsAndCacheEqualEachPromptAlone()
    {
        var runner = new DecoderRunner(tiny.Model);
        var prompts = TinyDecoderFixture.Prompts(6, seed: 17).Select(p => tiny.Request(p, TinyDecoderFixture.Greedy(1)).Prompt).ToList();
        Assert.True(prompts.Select(p => p.Count).Distinct().Count() >= 4, "the prompts should differ in length");

        var (together, logits) = runner.Prefill(prompts);
        using (together)
        {
            Assert.Equal(prompts.Max(p => p.Count), together.Columns);
            for (var r = 0; r < prompts.Count; r++)
            {
                var (alone, own) = runner.Prefill([prompts[r]]);
                using (alone)
                {
                    Assert.Equal(TokenSampler.ArgMax(own[0]), TokenSampler.ArgMax(logits[r]));
                    Assert.True(MaxDiff(own[0], logits[r]) < 1e-4f, $"row {r}: logits differ by {MaxDiff(own[0], logits[r])}");
                    // The row's cache: its first n columns together, all n columns alone (pads never enter it).
                    using var a = KvCache.Gather([alone.Left(0, prompts[r].Count)], tiny.Model.Layers, tiny.Model.KvHeads, tiny.Model.HeadSize);
                    using var b = KvCache.Gather([together.Left(r, prompts[r].Count)], tiny.Model.Layers, tiny.Model.KvHeads, tiny.Model.HeadSize);
                    for (var v = 0; v < a.Values.Length; v++)
                        Assert.True(MaxDiff(a.Values[v].GetTensorDataAsSpan<float>(), b.Values[v].GetTensorDataAsSpan<float>()) < 1e-4f, $"row {r}, cache tensor {v}");
                }
            }
        }
    }

    [Fact]
    public async Task Continuous_MixedLengthPromptsPrefilledTogether_EveryRowEqualsItsBatchOneGreedyRun()
    {
        // 16 prompts of 2..61 tokens, 3..24 new tokens each, 8 slots; every join at a step prefilled in one Run (no pad bound).
        var prompts = TinyDecoderFixture.Prompts(16, seed: 23);
        static int MaxNew(int row) => 3 + (row * 5 % 22);
        var requests = prompts.Select((p, i) => tiny.Request(p, TinyDecoderFixture.Greedy(MaxNew(i)))).ToList();
        var batcher = new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch: 8, continuous: true, new PrefillPolicy(8, MaxPadShare: 1));

        var results = await batcher.GenerateAsync(requests, CancellationToken.None);

        for (var i = 0; i < requests.Count; i++)
            Assert.Equal(tiny.Reference(requests[i].Prompt, MaxNew(i)), results[i].Tokens);
        // The first 8 prompts joined in one Run; the rest as rows finished: fewer Runs than prompts.
        Assert.True(batcher.Prefills < requests.Count, $"{batcher.Prefills} prefill Runs for {requests.Count} prompts");
    }

    [Fact]
    public async Task Static_DefaultPolicy_RowsEqualPrefillingEachAlone()
    {
        var prompts = TinyDecoderFixture.Prompts(12, seed: 29);
        var requests = prompts.Select((p, i) => tiny.Request(p, TinyDecoderFixture.Greedy(4 + i % 9))).ToList();
        var grouped = new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch: 6, continuous: false);
        var alone = new ContinuousBatcher(new DecoderRunner(tiny.Model), maxBatch: 6, continuous: false, new PrefillPolicy(1));

        var a = await grouped.GenerateAsync(requests, CancellationToken.None);
        var b = await alone.GenerateAsync(requests, CancellationToken.None);

        Assert.Equal(b, a, GenerationComparer.Instance);
        Assert.Equal(requests.Count, alone.Prefills);
        Assert.True(grouped.Prefills < alone.Prefills, $"grouped {grouped.Prefills} Runs, alone {alone.Prefills}");
    }

    [Fact]
    public void Groups_SortedByLength_BoundedByRowsAndPadShare()
    {
        int[] lengths = [50, 10, 12, 48, 11, 100, 49];

        // 10, 11, 12 (pads 3 of 36); 48, 49, 50 (3 of 150); 100 alone (with the 48..50 group: pads 153 of 400).
        var expected = new[] { new[] { 1, 4, 2 }, [3, 6, 0], [5] };
        Assert.Equal(expected, new PrefillPolicy(MaxRows: 8).Groups(lengths));
        // Two rows at most: 12 is left alone (with 48: pads 36 of 96), 50 and 100 share one (pads 50 of 200, a quarter).
        Assert.Equal(new[] { new[] { 1, 4 }, [2], [3, 6], [0, 5] }, new PrefillPolicy(MaxRows: 2).Groups(lengths));
        Assert.All(new PrefillPolicy(MaxRows: 8).Groups(lengths), g =>
            Assert.True(g.Length * g.Max(i => lengths[i]) - g.Sum(i => lengths[i]) <= 0.25 * g.Length * g.Max(i => lengths[i])));
        Assert.All(new PrefillPolicy(MaxRows: 1).Groups(lengths), g => Assert.Single(g));
        Assert.Single(new PrefillPolicy(MaxRows: 8, MaxPadShare: 1).Groups(lengths));
    }

    private static float MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
