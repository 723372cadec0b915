using Sluice.Contracts;
using Sluice.Inference.Generation;
using Sluice.Inference.Partitioning.TensorParallel;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests.Generation;

/// <summary>
/// A hidden-512 decoder of TinyDecoder's shape (its SwiGLU MLPs hold 6 MiB each, above the planner's 1 MiB floor),
/// loaded whole and split over 2 CPU shards.
/// </summary>
public sealed class WideDecoderFixture : IDisposable
{
    public static readonly DecoderShape Shape = new(Hidden: 512, Heads: 8, Layers: 2);

    public WideDecoderFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "sluice-generate-tp-tests-" + Guid.NewGuid().ToString("N"));
        Files = TinyDecoder.Export(Path.Combine(Root, "wide-decoder"), shape: Shape);
        Whole = GenerationModel.Load(new GenerateOptions(Files.Directory), intraOpThreads: 1);
        Split = GenerationModel.Load(new GenerateOptions(Files.Directory) { TensorParallel = 2 }, intraOpThreads: 2);
    }

    public string Root { get; }

    public PackagedModelFiles Files { get; }

    internal GenerationModel Whole { get; }

    internal GenerationModel Split { get; }

    public void Dispose()
    {
        Whole.Dispose();
        Split.Dispose();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

public sealed class TensorParallelGenerationTests(WideDecoderFixture wide, ITestOutputHelper output) : IClassFixture<WideDecoderFixture>
{
    private const long Hidden = 512, Ffn = 2 * Hidden;

    [Fact]
    public void Plan_SwiGluDecoderTwoShards_SplitsEachMlpGateAndUpByColumnsDownByRowsAndThePositionTable()
    {
        var plan = TensorParallelPlanner.Plan(TinyDecoder.Build(shape: WideDecoderFixture.Shape), 2).Summary();
        foreach (var r in plan.Regions) output.WriteLine($"{r.Kind} {r.Channels} channels, {r.WeightBytes:N0} B, {r.Nodes.Count} nodes");
        output.WriteLine($"shard bytes {string.Join(" / ", plan.ShardBytes.Select(b => b.ToString("N0")))}; replicated {plan.ReplicatedBytes:N0}; whole {plan.TotalParameterBytes:N0}");

        // One region per layer's MLP: gate and up [512x1024] column-wise, down [1024x512] row-wise, silu(gate) * up between.
        var mlps = plan.Regions.Where(r => r.Kind == RegionKind.Pair).ToList();
        Assert.Equal(WideDecoderFixture.Shape.Layers, mlps.Count);
        foreach (var mlp in mlps)
        {
            Assert.Equal(Ffn, mlp.Channels);
            Assert.Equal(3 * Hidden * Ffn * 4, mlp.WeightBytes);
            var splits = mlp.Splits.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (s.Key.Split('.')[^1], s.Value));
            Assert.Equal([("down", 0), ("gate", 1), ("up", 1)], splits);
        }
        // The learned positions [512x512] split by rows (1 MiB, at the floor); the 258-token table (0.5 MiB) stays whole.
        var positions = Assert.Single(plan.Regions, r => r.Kind == RegionKind.Embedding);
        Assert.Equal(TinyDecoder.ContextLength, positions.Channels);
        // Each shard: half of every region's weights, plus its position slice's zero row (512 floats) and 3 int64 scalars.
        for (var k = 0; k < 2; k++) Assert.Equal(plan.RegionBytes / 2 + Hidden * 4 + 3 * 8, plan.ShardBytes[k]);
        // The replicated pieces each carry their own copy of the small constants they share (eps, shapes): under 1 KiB.
        Assert.InRange(plan.ReplicatedBytes + plan.RegionBytes - plan.TotalParameterBytes, 0, 1024);
        // The first device holds its shard plus the replicated rest (attention, norms, LM head): less than the whole.
        var perDevice = DeviceWeights.PerDevice(wide.Files.Model, 2);
        Assert.Equal(plan.ShardBytes[0] + plan.ReplicatedBytes, perDevice[0]);
        Assert.True(perDevice[0] < 0.75 * new FileInfo(wide.Files.Model).Length, $"{perDevice[0]:N0} B of {new FileInfo(wide.Files.Model).Length:N0}");
    }

    [Fact]
    public async Task Continuous_TensorParallelTwo_EveryRowEqualsTheUnsplitRunTokenForToken()
    {
        var prompts = TinyDecoderFixture.Prompts(12, seed: 17);
        static int MaxNew(int row) => 3 + (row * 5 % 17);
        GenerationRequest Request(string p, int row) =>
            new([TinyDecoder.BosTokenId, .. wide.Whole.Tokenizer.Encode(p)], TinyDecoderFixture.Greedy(MaxNew(row)));
        var requests = prompts.Select(Request).ToList();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var whole = await new ContinuousBatcher(new DecoderRunner(wide.Whole), maxBatch: 4, continuous: true).GenerateAsync(requests, CancellationToken.None);
        var wholeTime = clock.Elapsed;
        clock.Restart();
        var splitBatcher = new ContinuousBatcher(new DecoderRunner(wide.Split), maxBatch: 4, continuous: true);
        var split = await splitBatcher.GenerateAsync(requests, CancellationToken.None);
        // Printed, not asserted: on CPU shards a split costs host copies and sums; it buys memory per device, not speed.
        output.WriteLine($"whole {wholeTime.TotalMilliseconds:0} ms, 2 CPU shards {clock.Elapsed.TotalMilliseconds:0} ms");

        var model = Assert.IsType<TensorParallelModel>(wide.Split.Runner);
        Assert.Equal(2, model.Summary.Shards);
        Assert.Equal(3, model.Summary.Regions.Count);
        for (var i = 0; i < requests.Count; i++) Assert.Equal(whole[i], split[i], GenerationComparer.Instance);
        output.WriteLine($"{split.Sum(s => s.Tokens.Count)} tokens in {splitBatcher.Steps} steps, every row equal to the unsplit run");
    }

    [Fact]
    public void DeviceNeed_WholeAndSplit_AreWeightsPlusKvCacheAtFullLoad()
    {
        var options = new GenerateOptions(wide.Files.Directory) { MaxBatch = 4 };
        var whole = new GenerateProcessor(options);
        var split = new GenerateProcessor(options with { TensorParallel = 2 });
        var gpus = new ResourceRequest(Gpus: 1);

        // max_batch 4 x 512 tokens (context_length) x 2 layers x 2 x 8 kv heads x 64 x 4 B.
        const long kv = 4L * 512 * 2 * 2 * 8 * 64 * 4;
        Assert.Equal(kv, whole.ActivationBytesPerGpu(gpus, batchRows: 1));
        Assert.Equal(kv, split.ActivationBytesPerGpu(gpus, batchRows: 100));
        Assert.Equal(new FileInfo(wide.Files.Model).Length, whole.DeviceBytesPerGpu(gpus));
        Assert.Equal(DeviceWeights.PerDevice(wide.Files.Model, 2)[0], split.DeviceBytesPerGpu(gpus));
        Assert.Contains("KV cache (max_batch 4 x 512 tokens x 2 layers x 2 x 8 kv heads x 64 x 4 B)", whole.BeyondWeights);
        Assert.Equal("lower max_batch (now 4)", whole.HowToNeedLessBeyondWeights);
        Assert.Contains("tensor_parallel: N", whole.HowToFit(32L << 20));
        output.WriteLine($"whole {(whole.DeviceBytesPerGpu(gpus) + kv) / 1048576.0:0.0} MiB per GPU; tensor_parallel 2 {(split.DeviceBytesPerGpu(gpus) + kv) / 1048576.0:0.0} MiB on the first");
    }
}
