using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Sluice.Inference.Partitioning.TensorParallel;

namespace Sluice.Inference.Tests;

/// <summary>
/// The region finder on a gated MLP (Llama's SwiGLU) written in the other order than TinyDecoder's: up before gate in
/// the graph and as Mul's first operand. Both are cut column-wise, down row-wise; a sibling read outside the MLP is not split.
/// </summary>
public sealed class GatedMlpRegionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sluice-gated-mlp-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void Plan_SwiGluUpBeforeGate_OneRegionCuttingGateAndUpByColumnsAndDownByRows_TwoShardsEqualTheWholeModel()
    {
        var model = SwiGlu(leakUp: false);
        var plan = TensorParallelPlanner.Plan(model, 2);

        var region = Assert.Single(plan.Regions);
        Assert.Equal(RegionKind.Pair, region.Kind);
        Assert.Equal(512, region.Channels);
        Assert.Equal(new Dictionary<string, int> { ["wu"] = 1, ["wg"] = 1, ["wd"] = 0 }, region.Splits);
        Assert.Equal(3L * 256 * 512 * 4, region.WeightBytes);
        Assert.All(Enumerable.Range(0, 2), k => Assert.Equal(region.WeightBytes / 2, plan.ShardBytes(k)));

        var path = Path.Combine(Directory.CreateDirectory(_dir).FullName, "swiglu.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var x = Enumerable.Range(0, 3 * 256).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var whole = OrtRun.Run(path, new Dictionary<string, HostTensor> { ["x"] = HostTensor.Of(x, 3, 256) })["y"];
        using var split = TensorParallelModel.Load(path, 2, 2, _ => null);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [3, 256]);
        using var runOptions = new RunOptions();
        using var outputs = split.Run(runOptions, ["x"], [input], ["y"]);
        var got = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.True(OrtRun.MaxAbsDiff(whole, HostTensor.Of(got, 3, 256)) <= 1e-4);
    }

    [Fact]
    public void Plan_SwiGluWhoseUpIsAlsoReadOutside_FindsNoRegionToSplit()
    {
        var e = Assert.Throws<BadInputException>(() => TensorParallelPlanner.Plan(SwiGlu(leakUp: true), 2));
        Assert.Contains("has no MatMul/Gemm/Conv pair", e.Message);
    }

    /// <summary>y = MatMul(Mul(up, gate · Sigmoid(gate)), Wd), up = MatMul(x, Wu) first; x [batch, 256], 512 channels.</summary>
    private static ModelProto SwiGlu(bool leakUp)
    {
        var random = new Random(7);
        TensorProto Weight(string name, params long[] dims)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(dims);
            t.FloatData.AddRange(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, d) => a * d)).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f));
            return t;
        }
        NodeProto Node(string op, string output, params string[] inputs) => new() { OpType = op, Name = output, Input = { inputs }, Output = { output } };
        ValueInfoProto Tensor(string name, long width) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "batch" }, new TensorShapeProto.Types.Dimension { DimValue = width } } } } },
        };
        var graph = new GraphProto
        {
            Name = "swiglu",
            Node =
            {
                Node("MatMul", "up", "x", "wu"), Node("MatMul", "gate", "x", "wg"), Node("Sigmoid", "sig", "gate"), Node("Mul", "silu", "gate", "sig"),
                Node("Mul", "act", "up", "silu"), Node("MatMul", "y", "act", "wd"),
            },
            Initializer = { Weight("wu", 256, 512), Weight("wg", 256, 512), Weight("wd", 512, 256) },
            Input = { Tensor("x", 256) },
            Output = { Tensor("y", 256) },
        };
        if (leakUp)
        {
            // Read before gate in graph order: only the check that the region alone reads its tensors sees it.
            graph.Node.Insert(1, Node("Relu", "leak", "up"));
            graph.Output.Add(Tensor("leak", 512));
        }
        return new ModelProto { IrVersion = 8, Graph = graph, OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 13 } } };
    }
}
