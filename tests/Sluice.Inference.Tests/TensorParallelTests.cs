using Apache.Arrow;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Sluice.Contracts;
using Sluice.Inference.Partitioning.TensorParallel;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

/// <summary>Tensor parallel (issue 5): models split over 2 CPU shards compute what the whole model does.</summary>
[Collection("models")]
public sealed class TensorParallelTests(ModelFixture models, ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Plan_MiniLmTwoShards_SplitsSixMlpPairsAndWordEmbeddingInHalves()
    {
        var plan = TensorParallelPlanner.Plan(ModelProto.Parser.ParseFromFile(models.MiniLm.Model), 2).Summary();
        Print(plan);

        var pairs = plan.Regions.Where(r => r.Kind == RegionKind.Pair).ToList();
        Assert.Equal(6, pairs.Count);
        Assert.All(pairs, p => Assert.Equal(1536, p.Channels));
        var embedding = Assert.Single(plan.Regions, r => r.Kind == RegionKind.Embedding);
        Assert.Equal(30522, embedding.Channels);
        Assert.Equal(30522L * 384 * 4, embedding.WeightBytes);
        // Each MLP holds W1 [384x1536], its bias [1536] and W2 [1536x384]. Each shard holds half of all that, plus
        // the embedding shard's zero row (384 floats) and its three int64 scalars (row offset, 0, row count).
        Assert.All(pairs, p => Assert.Equal((384L * 1536 * 2 + 1536) * 4, p.WeightBytes));
        for (var k = 0; k < 2; k++) Assert.Equal(plan.RegionBytes / 2 + 384 * 4 + 3 * 8, plan.ShardBytes[k]);
        Assert.Equal(plan.TotalParameterBytes, plan.ReplicatedBytes + plan.RegionBytes);
    }

    [Fact]
    public void Run_MiniLmTwoShards_EqualsWholeModel()
    {
        var feeds = Feeds.MiniLm();
        var whole = OrtRun.Run(models.MiniLm.Model, feeds);

        var split = RunTensorParallel(models.MiniLm.Model, 2, feeds);

        Assert.Equal(whole.Keys.Order(), split.Keys.Order());
        foreach (var (name, expected) in whole)
        {
            var diff = OrtRun.MaxAbsDiff(expected, split[name]);
            output.WriteLine($"MiniLM TP-2, {name}: max abs diff {diff:E2}");
            Assert.True(diff <= Tolerance, $"{name}: max abs diff {diff} > {Tolerance}");
        }
    }

    [Fact]
    public void Run_ResNet18TwoShards_SplitsConvPairsAndEqualsWholeModel()
    {
        using var model = TensorParallelModel.Load(models.ResNet18.Model, 2, 2, _ => null);
        var plan = model.Summary;
        Print(plan);
        Assert.True(plan.Regions.Count >= 4, $"{plan.Regions.Count} regions");
        Assert.All(plan.Regions, r => Assert.Equal(["Conv", "BatchNormalization", "Relu", "Conv"], r.Nodes.Select(n => Op(models.ResNet18.Model, n))));
        // layer4's 3x3 convs, 512 channels, are among them.
        Assert.Contains(plan.Regions, r => r.Channels == 512);
        for (var k = 0; k < 2; k++) Assert.Equal(plan.RegionBytes / 2, plan.ShardBytes[k]);

        var feeds = Feeds.Images(2);
        var whole = OrtRun.Run(models.ResNet18.Model, feeds)[ResNet18Export.Output];
        var split = Run(model, feeds)[ResNet18Export.Output];

        var diff = OrtRun.MaxAbsDiff(whole, split);
        output.WriteLine($"ResNet18 TP-2, {ResNet18Export.Output}: max abs diff {diff:E2}");
        Assert.True(diff <= Tolerance, $"max abs diff {diff} > {Tolerance}");
        Assert.NotEqual(whole.Floats![0..512], whole.Floats![512..1024]);
    }

    [Fact]
    public async Task ProcessAsync_MiniLmTensorParallelTwo_EqualsTensorParallelOne()
    {
        var tokens = await TokenizeAsync(Batches.Sentences);
        var one = await EmbedAsync(new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean }, tokens);
        var two = await EmbedAsync(new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean, TensorParallel = 2 }, tokens);

        Assert.Equal(one.Length, two.Length);
        var diff = one.Zip(two, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
        output.WriteLine($"OnnxProcessor TP-2 vs TP-1 over {one.Length} rows: max abs diff {diff:E2}");
        Assert.True(diff <= Tolerance, $"max abs diff {diff} > {Tolerance}");
    }

    [Fact]
    public void Run_GemmPairWithBiasesTwoShards_EqualsWholeModel()
    {
        var path = GemmPair(Path.Combine(models.Root, "gemm-pair"));
        var x = new float[3 * 256];
        var random = new Random(11);
        for (var i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        var feeds = new Dictionary<string, HostTensor> { ["x"] = HostTensor.Of(x, 3, 256) };

        using var model = TensorParallelModel.Load(path, 2, 2, _ => null);
        Print(model.Summary);
        var region = Assert.Single(model.Summary.Regions);
        Assert.Equal(512, region.Channels);
        // The second Gemm's bias C2 [256] is added by shard 0 only.
        Assert.Equal(model.Summary.ShardBytes[1] + 256 * 4, model.Summary.ShardBytes[0]);
        var whole = OrtRun.Run(path, feeds)["y"];
        var split = Run(model, feeds)["y"];

        var diff = OrtRun.MaxAbsDiff(whole, split);
        output.WriteLine($"Gemm pair TP-2: max abs diff {diff:E2}");
        Assert.True(diff <= Tolerance, $"max abs diff {diff} > {Tolerance}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Constructor_TensorParallelBelowOne_ThrowsNamingOption(int shards)
    {
        var e = Assert.Throws<SluiceException>(() => new OnnxProcessor(new OnnxOptions("model.onnx") { TensorParallel = shards }));

        Assert.Contains($"OnnxOptions.TensorParallel: '{shards}' is not accepted", e.Message);
        Assert.Contains("give 1", e.Message);
    }

    [Fact]
    public async Task InitializeAsync_TensorParallelOnModelWithoutWeights_ThrowsNamingOption()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny-tp"), TinyOnnx.Float, "N", 4);
        await using var processor = new OnnxProcessor(new OnnxOptions(path) { TensorParallel = 2 });

        var e = await Assert.ThrowsAsync<BadInputException>(() => processor.InitializeAsync(Batches.Context(), CancellationToken.None).AsTask());

        Assert.Contains("OnnxOptions.TensorParallel is 2", e.Message);
        Assert.Contains("use TensorParallel 1", e.Message);
    }

    [Fact]
    public void Devices_RealGpusFewerThanShards_ThrowsNamingOption()
    {
        var context = new ProcessorContext("embed", 3, new ResourceRequest(Gpus: 1), [0]);

        var e = Assert.Throws<SluiceException>(() => CudaSupport.Devices("auto", context, 2));

        Assert.Contains("OnnxOptions.TensorParallel is 2 but actor 3 holds 1 GPU(s)", e.Message);
        Assert.Equal([4, 5], CudaSupport.Devices("auto", context with { GpuIds = [4, 5, 6] }, 2));
    }

    [Fact]
    public void Devices_SimulatedGpusOrCpuProvider_RunsShardsOnCpu()
    {
        var context = new ProcessorContext("embed", 0, new ResourceRequest(Gpus: 2), [0, 1]);

        Assert.Null(CudaSupport.Devices("auto", context with { Simulated = new SimulatedDevices(2) }, 2));
        Assert.Null(CudaSupport.Devices("cpu", context, 2));
    }

    private void Print(TensorParallelSummary plan)
    {
        output.WriteLine($"{plan.Regions.Count} regions, {plan.RegionBytes:N0} B of {plan.TotalParameterBytes:N0} B; {plan.Pieces} pieces");
        foreach (var r in plan.Regions) output.WriteLine($"  {r.Kind} {r.Input} -> {r.Output}: {r.Nodes.Count} nodes, {r.Channels} channels, {r.WeightBytes:N0} B");
        for (var k = 0; k < plan.Shards; k++) output.WriteLine($"  shard {k}: {plan.ShardBytes[k]:N0} B");
        output.WriteLine($"  replicated (shard 0's device): {plan.ReplicatedBytes:N0} B");
    }

    /// <summary>y = Gemm(Relu(Gemm(x, W1ᵀ, C1) · s), W2, C2): x [batch, 256], 512 hidden channels, random weights.</summary>
    private static string GemmPair(string dir)
    {
        var random = new Random(3);
        TensorProto Weight(string name, params long[] dims)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(dims);
            t.FloatData.AddRange(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, d) => a * d)).Select(_ => (float)(random.NextDouble() - 0.5)));
            return t;
        }
        NodeProto Node(string op, string output, params string[] inputs)
        {
            var n = new NodeProto { OpType = op, Name = output };
            n.Input.AddRange(inputs);
            n.Output.Add(output);
            return n;
        }
        ValueInfoProto Tensor(string name, long width) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "batch" }, new TensorShapeProto.Types.Dimension { DimValue = width } } } } },
        };
        var first = Node("Gemm", "h", "x", "w1", "c1");
        first.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        var graph = new GraphProto
        {
            Name = "gemm_pair",
            Node = { first, Node("Mul", "scaled", "h", "s"), Node("Relu", "r", "scaled"), Node("Gemm", "y", "r", "w2", "c2") },
            Initializer = { Weight("w1", 512, 256), Weight("c1", 512), Weight("s", 1, 512), Weight("w2", 512, 256), Weight("c2", 256) },
            Input = { Tensor("x", 256) },
            Output = { Tensor("y", 256) },
        };
        var model = new ModelProto { IrVersion = 8, Graph = graph, OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 13 } } };
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "gemm-pair.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static string Op(string model, int node) => ModelProto.Parser.ParseFromFile(model).Graph.Node[node].OpType;

    private static Dictionary<string, HostTensor> RunTensorParallel(string path, int shards, Dictionary<string, HostTensor> feeds)
    {
        using var model = TensorParallelModel.Load(path, shards, 2, _ => null);
        return Run(model, feeds);
    }

    private static Dictionary<string, HostTensor> Run(TensorParallelModel model, Dictionary<string, HostTensor> feeds)
    {
        var names = model.InputMetadata.Keys.ToArray();
        var values = names.Select(n => feeds[n].Floats is { } f ? OrtValue.CreateTensorValueFromMemory(f, feeds[n].Shape) : OrtValue.CreateTensorValueFromMemory(feeds[n].Longs!, feeds[n].Shape)).ToArray();
        try
        {
            using var runOptions = new RunOptions();
            var outputs = model.OutputMetadata.Keys.ToArray();
            using var results = model.Run(runOptions, names, values, outputs);
            return outputs.Select((name, i) => (name, results.ElementAt(i)))
                .ToDictionary(p => p.name, p => new HostTensor(p.Item2.GetTensorTypeAndShape().Shape, p.Item2.GetTensorDataAsSpan<float>().ToArray(), null));
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private async Task<RecordBatch> TokenizeAsync(IEnumerable<string> texts)
    {
        await using var tokenizer = new BertTokenizeProcessor(new BertTokenizeOptions(models.MiniLm.Vocab, MaxLength: 128));
        await tokenizer.InitializeAsync(Batches.Context(), CancellationToken.None);
        return await tokenizer.ProcessAsync(Batches.Text(texts), CancellationToken.None);
    }

    private static async Task<float[][]> EmbedAsync(OnnxOptions options, RecordBatch tokens)
    {
        await using var processor = new OnnxProcessor(options);
        await processor.InitializeAsync(Batches.Context(cpus: 2), CancellationToken.None);
        return Batches.Vectors(await processor.ProcessAsync(tokens, CancellationToken.None), "embedding");
    }
}
