using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>Builds shard <c>k</c> of a region as a standalone model: same input and output as the region, a slice of its weights.</summary>
internal static class ShardBuilder
{
    private const string Prefix = "sluice_tp_";

    public static ModelProto Build(ModelProto source, GraphIndex g, ShardRegion region, int piece, int shard, int shards, IReadOnlyDictionary<string, ValueInfoProto> types)
    {
        var graph = new GraphProto
        {
            Name = $"{source.Graph.Name}_piece{piece}_shard{shard}",
            DocString = $"shard {shard} of {shards} of {region.Describe(g)} in {source.Graph.Name}, split by Sluice",
        };
        graph.Input.Add(TypeOf(source, region.Input, types));
        graph.Output.Add(TypeOf(source, region.Output, types));
        // No value_info: the source's would give the split tensors their whole channel count.
        if (region.Kind == RegionKind.Pair) Pair(g, region, shard, shards, graph);
        else Embedding(source, g, region, shard, shards, graph, types);
        return StageBuilder.Wrap(source, graph);
    }

    private static void Pair(GraphIndex g, ShardRegion region, int shard, int shards, GraphProto graph)
    {
        var (low, high) = region.Range(shard, shards);
        foreach (var c in region.Constants) graph.Node.Add(g.Nodes[c].Clone());
        var second = region.Nodes[^1];
        foreach (var n in region.Nodes)
        {
            var node = g.Nodes[n].Clone();
            // The second op's bias (Gemm C, Conv B; always its last input) is added by shard 0 alone, once in the sum.
            if (n == second && shard > 0 && node.Input.Count > 2 && region.FirstShardOnly.Contains(node.Input[2])) node.Input.RemoveAt(2);
            graph.Node.Add(node);
        }
        var read = region.Nodes.SelectMany(n => g.Inputs[n]).Where(g.Initializers.ContainsKey).ToHashSet(StringComparer.Ordinal);
        foreach (var name in g.Graph.Initializer.Select(i => i.Name).Where(read.Contains))
        {
            if (region.Splits.TryGetValue(name, out var axis)) graph.Initializer.Add(TensorSlicer.Slice(g.Initializers[name], axis, low, high));
            else if (!region.FirstShardOnly.Contains(name) || shard == 0) graph.Initializer.Add(g.Initializers[name]); // shared, not copied
        }
    }

    /// <summary>
    /// ids − low, then ids outside [0, rows) point at a zero row appended to the shard's table: Gather returns zeros
    /// for the ids other shards hold, and the sum over shards is the whole table's lookup. Negative ids (which Gather
    /// counts from the end of the table) give zeros: token ids are never negative.
    /// </summary>
    private static void Embedding(ModelProto source, GraphIndex g, ShardRegion region, int shard, int shards, GraphProto graph, IReadOnlyDictionary<string, ValueInfoProto> types)
    {
        var (low, high) = region.Range(shard, shards);
        var rows = high - low;
        var gather = g.Nodes[region.Nodes[0]];
        var indexType = TypeOf(source, region.Input, types).Type.TensorType.ElemType;
        var table = gather.Input[0];
        graph.Initializer.Add(TensorSlicer.Slice(g.Initializers[table], 0, low, high, zeroRows: 1));
        graph.Initializer.Add(TensorSlicer.Scalar(Prefix + "low", indexType, low));
        graph.Initializer.Add(TensorSlicer.Scalar(Prefix + "zero", indexType, 0));
        graph.Initializer.Add(TensorSlicer.Scalar(Prefix + "rows", indexType, rows));
        var ids = region.Input;
        graph.Node.Add(Node("Sub", [ids, Prefix + "low"], Prefix + "local"));
        graph.Node.Add(Node("Less", [Prefix + "local", Prefix + "zero"], Prefix + "below"));
        graph.Node.Add(Node("Less", [Prefix + "local", Prefix + "rows"], Prefix + "under"));
        graph.Node.Add(Node("Not", [Prefix + "below"], Prefix + "from_low"));
        graph.Node.Add(Node("And", [Prefix + "from_low", Prefix + "under"], Prefix + "inside"));
        graph.Node.Add(Node("Where", [Prefix + "inside", Prefix + "local", Prefix + "rows"], Prefix + "index"));
        var lookup = gather.Clone();
        lookup.Input[1] = Prefix + "index";
        graph.Node.Add(lookup);
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static ValueInfoProto TypeOf(ModelProto source, string name, IReadOnlyDictionary<string, ValueInfoProto> types) =>
        (source.Graph.Input.FirstOrDefault(i => i.Name == name) ?? source.Graph.Output.FirstOrDefault(o => o.Name == name) ?? types[name]).Clone();
}
