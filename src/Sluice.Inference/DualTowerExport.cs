using Google.Protobuf;
using Onnx;

namespace Sluice.Inference;

/// <summary>
/// A dual-tower model in one graph (the issue 5 case study): an image tower (ResNet18, <see cref="ResNet18Export"/>)
/// and a text tower (MiniLM), side by side. Inputs: <c>image</c> [batch, 3, 224, 224] uint8 RGB (decoded pixels, cast
/// to float inside), <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c> [batch, seq]; outputs:
/// <c>image_features</c> [batch, 512] and <c>last_hidden_state</c> [batch, seq, 384]. The image tower's nodes come
/// first, so it finishes before the text tower starts: the partitioner can give each tower its own stages.
/// ResNet18 is opset 8 and MiniLM 13: the image tower is lifted to 13 (BatchNormalization loses <c>spatial</c>,
/// which must be 1; Split's <c>split</c> attribute becomes an input).
/// </summary>
internal static class DualTowerExport
{
    public const string ImageInput = "image";
    public const string ImageOutput = "image_features";
    public const string TextOutput = "last_hidden_state";
    private const string ImagePrefix = "image/";
    private const string TextPrefix = "text/";
    private const int Opset = 13;

    /// <param name="textModel">all-MiniLM-L6-v2 (opset 13).</param>
    public static ModelProto Build(ModelProto textModel)
    {
        var image = ResNet18Export.Build().Graph;
        if (textModel.OpsetImport.SingleOrDefault(o => o.Domain.Length == 0)?.Version != Opset)
            throw new SluiceException($"the text tower must be an opset {Opset} model (all-MiniLM-L6-v2)");
        var text = textModel.Graph;

        var graph = new GraphProto { Name = "dual_tower", DocString = "image tower (ResNet18) and text tower (MiniLM), built by Sluice" };
        var cast = ImagePrefix + "pixels";
        graph.Node.Add(new NodeProto
        {
            OpType = "Cast", Name = ImagePrefix + "cast", Input = { ImageInput }, Output = { cast },
            Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float } },
        });
        string ImageName(string n) => n == ResNet18Export.Input ? cast : n == ResNet18Export.Output ? ImageOutput : ImagePrefix + n;
        string TextName(string n) => text.Input.Any(i => i.Name == n) || n == TextOutput ? n : TextPrefix + n;
        foreach (var n in image.Node) graph.Node.Add(Lift(Renamed(n, ImageName), graph));
        // MiniLM's second output (the pooler) is left out: only last_hidden_state is kept, and the nodes that feed nothing else go.
        var keep = Needed(text, TextOutput);
        foreach (var n in text.Node.Where(keep.Contains)) graph.Node.Add(Renamed(n, TextName));
        foreach (var t in image.Initializer) graph.Initializer.Add(Renamed(t, ImageName));
        var used = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var t in text.Initializer.Where(t => used.Contains(TextName(t.Name)))) graph.Initializer.Add(Renamed(t, TextName));

        var imageIn = image.Input.Single(i => i.Name == ResNet18Export.Input).Clone();
        imageIn.Name = ImageInput;
        imageIn.Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Uint8;
        graph.Input.Add(imageIn);
        graph.Input.Add(text.Input.Select(i => i.Clone()));
        var imageOut = image.Output.Single().Clone();
        imageOut.Name = ImageOutput;
        graph.Output.Add(imageOut);
        graph.Output.Add(text.Output.Single(o => o.Name == TextOutput).Clone());
        foreach (var v in image.ValueInfo) graph.ValueInfo.Add(Renamed(v, ImageName));
        foreach (var v in text.ValueInfo.Where(v => used.Contains(TextName(v.Name)))) graph.ValueInfo.Add(Renamed(v, TextName));

        var model = new ModelProto { IrVersion = textModel.IrVersion, ProducerName = "sluice", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    public static byte[] Bytes(ModelProto textModel) => Build(textModel).ToByteArray();

    /// <summary>The nodes <paramref name="output"/> depends on.</summary>
    private static HashSet<NodeProto> Needed(GraphProto g, string output)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in g.Node)
            foreach (var o in n.Output) producer[o] = n;
        var needed = new HashSet<NodeProto>();
        var stack = new Stack<string>([output]);
        while (stack.Count > 0)
        {
            if (!producer.TryGetValue(stack.Pop(), out var n) || !needed.Add(n)) continue;
            foreach (var i in n.Input) stack.Push(i);
        }
        return needed;
    }

    /// <summary>An opset 8 node as opset 13 reads it.</summary>
    private static NodeProto Lift(NodeProto n, GraphProto graph)
    {
        if (n.OpType == "BatchNormalization" && n.Attribute.FirstOrDefault(a => a.Name == "spatial") is { } spatial)
        {
            if (spatial.I != 1) throw new SluiceException($"node '{n.Name}': BatchNormalization with spatial={spatial.I} has no opset {Opset} equivalent");
            n.Attribute.Remove(spatial);
        }
        if (n.OpType == "Split" && n.Attribute.FirstOrDefault(a => a.Name == "split") is { } split)
        {
            var sizes = new TensorProto { Name = n.Name + "/split", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { split.Ints.Count } };
            sizes.Int64Data.Add(split.Ints);
            graph.Initializer.Add(sizes);
            n.Attribute.Remove(split);
            n.Input.Add(sizes.Name);
        }
        return n;
    }

    private static NodeProto Renamed(NodeProto node, Func<string, string> name)
    {
        var n = node.Clone();
        n.Name = name(n.Name.Length > 0 ? n.Name : n.Output[0]);
        for (var i = 0; i < n.Input.Count; i++)
            if (n.Input[i].Length > 0) n.Input[i] = name(n.Input[i]);
        for (var i = 0; i < n.Output.Count; i++)
            if (n.Output[i].Length > 0) n.Output[i] = name(n.Output[i]);
        return n;
    }

    private static TensorProto Renamed(TensorProto t, Func<string, string> name)
    {
        var c = t.Clone();
        c.Name = name(c.Name);
        return c;
    }

    private static ValueInfoProto Renamed(ValueInfoProto v, Func<string, string> name)
    {
        var c = v.Clone();
        c.Name = name(c.Name);
        return c;
    }
}
