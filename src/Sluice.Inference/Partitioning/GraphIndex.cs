using Onnx;

namespace Sluice.Inference.Partitioning;

/// <summary>
/// Facts about a graph that partitioning needs: who produces and consumes each tensor, which nodes are
/// cheap enough to duplicate (computed from graph inputs and constants only), and the parameter bytes
/// and cost proxy of each node. Nodes are taken in the file's order, which ONNX requires to be topological.
/// </summary>
internal sealed class GraphIndex
{
    /// <summary>Initializers at most this many elements may be duplicated with the subgraph that reads them.</summary>
    private const long SmallConstantElements = 64;

    public GraphIndex(GraphProto graph)
    {
        Graph = graph;
        Nodes = graph.Node;
        Initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        GraphInputs = graph.Input.Where(i => !Initializers.ContainsKey(i.Name)).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        GraphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        ValueInfo = graph.ValueInfo.GroupBy(v => v.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        Inputs = new string[Nodes.Count][];
        for (var i = 0; i < Nodes.Count; i++)
        {
            Inputs[i] = NodeInputs(Nodes[i]).Distinct(StringComparer.Ordinal).ToArray();
            foreach (var o in Nodes[i].Output)
                if (o.Length > 0) Producer[o] = i;
        }

        Duplicable = new bool[Nodes.Count];
        var duplicableTensors = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Nodes.Count; i++)
        {
            var node = Nodes[i];
            var ok = !HasSubgraph(node) && SmallConstantNode(node) && Inputs[i].All(t =>
                GraphInputs.Contains(t) || duplicableTensors.Contains(t) ||
                (Initializers.TryGetValue(t, out var init) && Elements(init) <= SmallConstantElements));
            Duplicable[i] = ok;
            if (ok) foreach (var o in node.Output) duplicableTensors.Add(o);
        }

        Uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var inputs in Inputs)
            foreach (var t in inputs) Uses[t] = Uses.GetValueOrDefault(t) + 1;

        ParameterBytes = new long[Nodes.Count];
        Cost = new double[Nodes.Count];
        var counted = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Nodes.Count; i++)
        {
            foreach (var t in Inputs[i])
                if (Initializers.TryGetValue(t, out var init) && counted.Add(t)) ParameterBytes[i] += Bytes(init);
            Cost[i] = NodeCost(i);
        }
        TotalParameterBytes = Initializers.Values.Sum(Bytes);
    }

    public const string CostModel =
        "FLOP proxy per position: 2 x weight elements of MatMul/Gemm/Conv/Attention nodes, 1 per other node (not measured)";

    public GraphProto Graph { get; }

    public IList<NodeProto> Nodes { get; }

    public Dictionary<string, TensorProto> Initializers { get; }

    public HashSet<string> GraphInputs { get; }

    public HashSet<string> GraphOutputs { get; }

    public Dictionary<string, ValueInfoProto> ValueInfo { get; }

    /// <summary>Per node: the distinct tensors it reads, those its subgraphs read from outside included.</summary>
    public string[][] Inputs { get; }

    public Dictionary<string, int> Producer { get; } = new(StringComparer.Ordinal);

    /// <summary>Per tensor: how many nodes read it.</summary>
    public Dictionary<string, int> Uses { get; }

    /// <summary>Per node: computed from graph inputs and small constants only, so a later stage may recompute it.</summary>
    public bool[] Duplicable { get; }

    /// <summary>Per node: bytes of the initializers it is the first node to read.</summary>
    public long[] ParameterBytes { get; }

    public double[] Cost { get; }

    public long TotalParameterBytes { get; }

    public static long Elements(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    public static long Bytes(TensorProto t)
    {
        if (t.RawData.Length > 0) return t.RawData.Length;
        if (t.DataType == (int)TensorProto.Types.DataType.String) return t.StringData.Sum(s => (long)s.Length);
        return Elements(t) * ElementSize(t.DataType);
    }

    private static long ElementSize(int dataType) => dataType switch
    {
        2 or 3 or 9 => 1,              // uint8, int8, bool
        4 or 5 or 10 or 16 => 2,       // uint16, int16, float16, bfloat16
        1 or 6 or 12 => 4,             // float, int32, uint32
        7 or 11 or 13 or 14 => 8,      // int64, double, uint64, complex64
        15 => 16,                      // complex128
        _ => 1,                        // 4-bit and 8-bit float types: at most a byte
    };

    private static bool HasSubgraph(NodeProto node) => node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0);

    /// <summary>A Constant node holding more than a few elements is a weight in disguise: not duplicated.</summary>
    private static bool SmallConstantNode(NodeProto node) =>
        node.OpType != "Constant" || node.Attribute.All(a => a.T is null || Elements(a.T) <= SmallConstantElements);

    /// <summary>A node's inputs, plus the outer-scope tensors its subgraphs read (over-approximated: every name they read).</summary>
    private static IEnumerable<string> NodeInputs(NodeProto node)
    {
        foreach (var i in node.Input)
            if (i.Length > 0) yield return i;
        foreach (var a in node.Attribute)
        {
            var graphs = a.G is null ? a.Graphs : a.Graphs.Append(a.G);
            foreach (var g in graphs)
                foreach (var n in g.Node)
                    foreach (var i in NodeInputs(n))
                        yield return i;
        }
    }

    private double NodeCost(int i)
    {
        var node = Nodes[i];
        if (node.OpType is "MatMul" or "Gemm" or "Conv" or "ConvTranspose" or "Attention" or "MatMulInteger" or "QLinearMatMul" or "QLinearConv")
        {
            var weights = Inputs[i].Where(Initializers.ContainsKey).Sum(t => Elements(Initializers[t]));
            if (weights > 0) return 2.0 * weights;
        }
        return 1;
    }
}
