using Google.Protobuf;
using Onnx;

namespace Sluice.Inference;

/// <summary>
/// Builds the exported <c>resnet18</c> model from the two graphs Microsoft.ML.DnnImageFeaturizer.ResNet18 ships
/// (DESIGN.md §5): its preprocessing (RGB to BGR, minus a mean image) joined to the CNN, the batch dimension made
/// free (the package fixes it at 1) and the pooled features flattened. One input, <c>image</c> [batch, 3, 224, 224]
/// float RGB 0–255; one output, <c>features</c> [batch, 512].
/// </summary>
internal static class ResNet18Export
{
    public const string Input = "image";
    public const string Output = "features";
    public const int Side = 224;
    public const int Features = 512;

    /// <summary>Where the build copies the package's files (Sluice.Inference.csproj).</summary>
    public static string PackagedDirectory => Path.Combine(AppContext.BaseDirectory, "models", "resnet18");

    public static ModelProto Build()
    {
        var prepPath = Path.Combine(PackagedDirectory, "ResNetPreprocess.onnx");
        var cnnPath = Path.Combine(PackagedDirectory, "ResNet18.onnx");
        foreach (var p in new[] { prepPath, cnnPath })
        {
            if (!File.Exists(p))
                throw new SluiceException($"'{p}' is missing: it is copied there from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 when Sluice.Inference is built (dotnet build)");
        }
        var prep = ModelProto.Parser.ParseFromFile(prepPath);
        var cnn = ModelProto.Parser.ParseFromFile(cnnPath);

        var prepIn = prep.Graph.Input.Single().Name;
        var prepOut = prep.Graph.Output.Single().Name;
        var cnnIn = cnn.Graph.Input.Single(i => cnn.Graph.Initializer.All(t => t.Name != i.Name)).Name;
        var cnnOut = cnn.Graph.Output.Single().Name;

        var model = cnn.Clone();
        var g = model.Graph;
        g.Name = "resnet18";
        g.Node.Clear();
        foreach (var n in prep.Graph.Node) g.Node.Add(Renamed(n, prepIn, Input));
        foreach (var n in cnn.Graph.Node) g.Node.Add(Renamed(n, cnnIn, prepOut));
        g.Node.Add(new NodeProto { OpType = "Flatten", Name = "features_flatten", Input = { cnnOut }, Output = { Output }, Attribute = { new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 } } });
        g.Initializer.Add(prep.Graph.Initializer);

        // Batch is dim 0 of every activation: free it everywhere, inputs, outputs and intermediate types alike.
        g.Input.Clear();
        g.Input.Add(Tensor(Input, "batch", 3, Side, Side));
        g.Input.Add(cnn.Graph.Input.Where(i => i.Name != cnnIn));
        g.Output.Clear();
        g.Output.Add(Tensor(Output, "batch", Features));
        var infos = prep.Graph.ValueInfo.Concat(cnn.Graph.ValueInfo).Where(v => v.Name != prepIn && v.Name != cnnIn).Select(v => v.Clone()).ToList();
        g.ValueInfo.Clear();
        foreach (var v in infos)
        {
            if (v.Type?.TensorType?.Shape is { Dim.Count: > 0 } shape && shape.Dim[0].DimValue == 1)
                shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
            g.ValueInfo.Add(v);
        }
        return model;
    }

    private static NodeProto Renamed(NodeProto node, string from, string to)
    {
        var n = node.Clone();
        for (var i = 0; i < n.Input.Count; i++)
            if (n.Input[i] == from) n.Input[i] = to;
        return n;
    }

    private static ValueInfoProto Tensor(string name, string batch, params long[] dims)
    {
        var shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = batch } } };
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    public static byte[] Bytes() => Build().ToByteArray();
}
