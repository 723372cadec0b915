using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Sluice.Inference.Partitioning;

namespace Sluice.Inference.Tests;

/// <summary>Partitioning a generated chain of 6 equal MatMul+Relu layers, where the stage maxima differ clearly.</summary>
public sealed class PartitionChainTests : IDisposable
{
    private const int Width = 16;
    private const int Layers = 6;
    private const long LayerBytes = Width * Width * sizeof(float);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sluice-partition-chain-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void Plan_MaxStageBytesBetweenTwoAndThreeStageMaxima_PicksThreeStages()
    {
        var model = Chain();
        var two = ModelPartitioner.Plan(model, new PartitionOptions(Stages: 2)).Stages.Max(s => s.ParameterBytes);
        var three = ModelPartitioner.Plan(model, new PartitionOptions(Stages: 3)).Stages.Max(s => s.ParameterBytes);
        Assert.Equal(3 * LayerBytes, two);
        Assert.Equal(2 * LayerBytes, three);

        var plan = ModelPartitioner.Plan(model, new PartitionOptions(MaxStageBytes: (two + three) / 2));

        Assert.Equal(3, plan.Stages.Count);
        Assert.All(plan.Stages, s => Assert.Equal(2 * LayerBytes, s.ParameterBytes));
        Assert.Equal(Layers, ModelPartitioner.Plan(model, new PartitionOptions(MaxStageBytes: LayerBytes)).Stages.Count);
        var e = Assert.Throws<BadInputException>(() => ModelPartitioner.Plan(model, new PartitionOptions(MaxStageBytes: LayerBytes - 1)));
        Assert.Contains($"smallest achievable largest stage is {LayerBytes:N0} B", e.Message);
    }

    [Fact]
    public void Write_ThreeStages_ChainedEqualsWhole()
    {
        var model = Chain();
        var outDir = Path.Combine(_dir, "stages");

        var plan = ModelPartitioner.Write(model, new PartitionOptions(Stages: 3), outDir);

        Assert.Equal(["x"], plan.Stages[0].Inputs);
        Assert.Equal(["y"], plan.Stages[^1].Outputs);
        var x = Enumerable.Range(0, 3 * Width).Select(i => (float)Math.Sin(i)).ToArray();
        var whole = Run(model, "x", x);
        var value = x;
        foreach (var stage in plan.Stages) value = Run(Path.Combine(outDir, stage.File), stage.Inputs[0], value);
        Assert.Equal(whole, value);
    }

    private static float[] Run(string model, string input, float[] x)
    {
        using var session = new InferenceSession(model);
        using var value = OrtValue.CreateTensorValueFromMemory(x, [x.Length / Width, Width]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [input], [value], session.OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>y = Relu(…Relu(x·W0)…·W5), x: [batch, 16], each W a distinct [16, 16] float initializer.</summary>
    private string Chain()
    {
        Directory.CreateDirectory(_dir);
        var graph = new GraphProto { Name = "chain" };
        graph.Input.Add(Vi("x"));
        graph.Output.Add(Vi("y"));
        var last = "x";
        for (var l = 0; l < Layers; l++)
        {
            var w = new TensorProto { Name = $"w{l}", DataType = (int)TensorProto.Types.DataType.Float };
            w.Dims.Add([Width, Width]);
            var data = Enumerable.Range(0, Width * Width).Select(i => (float)Math.Cos(i + l) / Width).ToArray();
            w.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            graph.Initializer.Add(w);
            var mm = new NodeProto { OpType = "MatMul", Name = $"mm{l}" };
            mm.Input.Add([last, w.Name]);
            mm.Output.Add($"h{l}");
            var relu = new NodeProto { OpType = "Relu", Name = $"relu{l}" };
            relu.Input.Add($"h{l}");
            relu.Output.Add(last = l == Layers - 1 ? "y" : $"a{l}");
            graph.Node.Add([mm, relu]);
        }
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        var path = Path.Combine(_dir, "chain.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static ValueInfoProto Vi(string name)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = Width });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}
