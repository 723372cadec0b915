using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>
/// Finds the regions of a graph that can be split across devices (see <see cref="RegionKind"/>). A pair is a
/// MatMul/Gemm/Conv with a float initializer weight, then only channel-wise ops (elementwise ops, with constants
/// that are scalars or per-channel vectors, and BatchNormalization), then one MatMul/Gemm/Conv reading them; the
/// tensors in between may be read by nothing else. Every op in between acts on each channel alone, which is why
/// each shard may compute its own channels and the second op's partial products add up to the whole result.
/// A gated MLP has two first ops on the same input whose outputs are multiplied (<see cref="Gate"/>); both are cut
/// column-wise, the second op row-wise.
/// </summary>
internal sealed class RegionFinder
{
    private static readonly HashSet<string> Unary = new(StringComparer.Ordinal)
    {
        "Relu", "Erf", "Tanh", "Sigmoid", "Exp", "Abs", "Neg", "Identity", "LeakyRelu", "Softplus", "Gelu",
        "HardSigmoid", "Elu", "Selu", "Sqrt",
    };

    private static readonly HashSet<string> Binary = new(StringComparer.Ordinal) { "Add", "Sub", "Mul", "Div", "Pow" };

    private readonly GraphIndex _g;
    private readonly Dictionary<string, List<int>> _consumers = new(StringComparer.Ordinal);
    private readonly int _opset;

    public RegionFinder(GraphIndex g, int opset)
    {
        _g = g;
        _opset = opset;
        for (var i = 0; i < g.Nodes.Count; i++)
            foreach (var t in g.Inputs[i])
            {
                if (!_consumers.TryGetValue(t, out var list)) _consumers[t] = list = [];
                list.Add(i);
            }
    }

    /// <summary>Every region the graph has, overlapping ones included, in graph order.</summary>
    public IEnumerable<ShardRegion> FindAll()
    {
        for (var i = 0; i < _g.Nodes.Count; i++)
        {
            var region = _g.Nodes[i].OpType == "Gather" ? Embedding(i) : Pair(i);
            if (region is not null) yield return region;
        }
    }

    private ShardRegion? Embedding(int node)
    {
        var n = _g.Nodes[node];
        // Where (the in-range select each shard adds) needs opset 9.
        if (_opset < 9 || n.Input.Count != 2 || Attr(n, "axis", 0) != 0) return null;
        if (!_g.Initializers.TryGetValue(n.Input[0], out var table) || !IsFloat(table) || table.Dims.Count < 1) return null;
        if (IsConstant(n.Input[1])) return null;
        return new ShardRegion(RegionKind.Embedding, [node], [], n.Input[1], n.Output[0], table.Dims[0],
            new Dictionary<string, int>(StringComparer.Ordinal) { [table.Name] = 0 }, [], GraphIndex.Bytes(table));
    }

    private ShardRegion? Pair(int first)
    {
        if (FirstWeight(first) is not { } head) return null;
        var splits = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, axis) in head.Splits) splits[name] = axis;
        var chain = new SortedSet<int> { first };
        var tensors = new HashSet<string>(StringComparer.Ordinal) { _g.Nodes[first].Output[0] };
        var constants = new SortedSet<int>();
        int? second = null;
        // Graph order is topological, so a node's chain inputs are known when it is reached; past the last
        // reader of a chain tensor nothing more can join.
        var lastReader = LastReader(_g.Nodes[first].Output[0]);
        for (var i = first + 1; i <= lastReader; i++)
        {
            var reads = _g.Inputs[i].Where(tensors.Contains).ToList();
            if (reads.Count == 0) continue;
            if (reads.Count == 1 && SecondWeight(i, reads[0], head.Channels) is { } tail)
            {
                if (second is not null) return null;
                second = i;
                foreach (var (name, axis) in tail.Splits) splits[name] = axis;
                continue;
            }
            if (!ChannelWise(i, head, tensors, splits, constants))
            {
                if (Gate(i, first, head, chain, tensors, splits) is not { } gate || !ChannelWise(i, head, tensors, splits, constants)) return null;
                lastReader = Math.Max(lastReader, LastReader(_g.Nodes[gate].Output[0]));
            }
            chain.Add(i);
            tensors.Add(_g.Nodes[i].Output[0]);
            lastReader = Math.Max(lastReader, LastReader(_g.Nodes[i].Output[0]));
        }
        if (tensors.Any(_g.GraphOutputs.Contains)) return null;
        if (second is not { } last) return null;
        // Only the region reads its inner tensors (a gate's sibling may also have readers before the first op).
        var inside = chain.Append(last).ToHashSet();
        if (tensors.Any(t => _consumers.TryGetValue(t, out var readers) && !readers.All(inside.Contains))) return null;
        var secondNode = _g.Nodes[last];
        var firstShardOnly = secondNode.Input.Count > 2 && secondNode.Input[2].Length > 0 ? new[] { secondNode.Input[2] } : [];
        var nodes = chain.Append(last).ToList();
        var bytes = splits.Keys.Concat(firstShardOnly).Distinct(StringComparer.Ordinal).Sum(name => GraphIndex.Bytes(_g.Initializers[name]));
        return new ShardRegion(RegionKind.Pair, nodes, constants.ToList(), _g.Nodes[first].Input[0], secondNode.Output[0], head.Channels, splits, firstShardOnly, bytes);
    }

    /// <summary>
    /// A gated MLP (Llama's SwiGLU: <c>down(silu(gate(x)) * up(x))</c>, or GeGLU): binary <paramref name="node"/> reads the
    /// chain and the output of a sibling head — an op of the first's kind reading the same input with as many channels —
    /// which joins the region, cut column-wise like the first. Both halves of each shard's channels are then its own, so
    /// the product stays channel-wise. Returns the sibling, or null when the other operand is not one.
    /// </summary>
    private int? Gate(int node, int first, Head head, SortedSet<int> chain, HashSet<string> tensors, Dictionary<string, int> splits)
    {
        var n = _g.Nodes[node];
        if (!Binary.Contains(n.OpType) || n.Input.Count != 2) return null;
        var others = n.Input.Where(t => !tensors.Contains(t)).ToList();
        if (others.Count != 1 || !_g.Producer.TryGetValue(others[0], out var p) || chain.Contains(p)) return null;
        var (a, b) = (_g.Nodes[first], _g.Nodes[p]);
        if (b.OpType != a.OpType || b.Input[0] != a.Input[0] || FirstWeight(p) is not { } sibling) return null;
        if (sibling.Channels != head.Channels || sibling.ChannelFromEnd != head.ChannelFromEnd) return null;
        foreach (var (name, axis) in sibling.Splits) splits[name] = axis;
        chain.Add(p);
        tensors.Add(b.Output[0]);
        return p;
    }

    /// <summary>The channel count, the axis of the output that holds channels (counted from the end), and how to cut the weights.</summary>
    private sealed record Head(long Channels, int ChannelFromEnd, List<(string Name, int Axis)> Splits);

    private Head? FirstWeight(int node)
    {
        var n = _g.Nodes[node];
        if (n.Output.Count != 1 || n.Input.Count < 2 || !Weight(n.Input[1], out var w) || IsConstant(n.Input[0])) return null;
        switch (n.OpType)
        {
            case "MatMul" when w.Dims.Count == 2:
                return new Head(w.Dims[1], 1, [(w.Name, 1)]);
            case "Gemm" when w.Dims.Count == 2:
            {
                var transB = Attr(n, "transB", 0) != 0;
                var channels = transB ? w.Dims[0] : w.Dims[1];
                var splits = new List<(string, int)> { (w.Name, transB ? 0 : 1) };
                if (n.Input.Count > 2 && n.Input[2].Length > 0)
                {
                    if (!Weight(n.Input[2], out var c)) return null;
                    if (c.Dims.Count == 1 && c.Dims[0] == channels) splits.Add((c.Name, 0));
                    else if (c.Dims.Count == 2 && c.Dims[0] == 1 && c.Dims[1] == channels) splits.Add((c.Name, 1));
                    else return null;
                }
                return new Head(channels, 1, splits);
            }
            case "Conv" when w.Dims.Count >= 3 && Attr(n, "group", 1) == 1:
            {
                var splits = new List<(string, int)> { (w.Name, 0) };
                if (n.Input.Count > 2 && n.Input[2].Length > 0)
                {
                    if (!Weight(n.Input[2], out var b)) return null;
                    splits.Add((b.Name, 0));
                }
                return new Head(w.Dims[0], w.Dims.Count - 1, splits);
            }
            default:
                return null;
        }
    }

    /// <summary>The second op reading <paramref name="input"/> as its activation: how its weight is cut by input channel.</summary>
    private Head? SecondWeight(int node, string input, long channels)
    {
        var n = _g.Nodes[node];
        if (n.Output.Count != 1 || n.Input.Count < 2 || n.Input[0] != input || n.Input[1] == input || !Weight(n.Input[1], out var w)) return null;
        if (n.Input.Count > 2 && n.Input[2].Length > 0 && (n.Input[2] == input || !Weight(n.Input[2], out _))) return null;
        return n.OpType switch
        {
            "MatMul" when w.Dims.Count == 2 && w.Dims[0] == channels => new Head(channels, 1, [(w.Name, 0)]),
            "Gemm" when w.Dims.Count == 2 && Attr(n, "transA", 0) == 0 =>
                Attr(n, "transB", 0) != 0
                    ? (w.Dims[1] == channels ? new Head(channels, 1, [(w.Name, 1)]) : null)
                    : (w.Dims[0] == channels ? new Head(channels, 1, [(w.Name, 0)]) : null),
            "Conv" when w.Dims.Count >= 3 && Attr(n, "group", 1) == 1 && w.Dims[1] == channels => new Head(channels, w.Dims.Count - 1, [(w.Name, 1)]),
            _ => null,
        };
    }

    /// <summary>Whether <paramref name="node"/> acts on each channel alone; records how its constants are cut.</summary>
    private bool ChannelWise(int node, Head head, HashSet<string> chain, Dictionary<string, int> splits, SortedSet<int> constants)
    {
        var n = _g.Nodes[node];
        if (n.Output.Count != 1 || n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0)) return false;
        bool InChain(string t) => chain.Contains(t);
        if (Unary.Contains(n.OpType)) return n.Input.Count == 1;
        if (Binary.Contains(n.OpType))
            return n.Input.Count == 2 && n.Input.All(t => InChain(t) || Constant(t, head, splits, constants));
        if (n.OpType == "BatchNormalization")
        {
            if (n.Input.Count != 5 || !InChain(n.Input[0]) || Attr(n, "spatial", 1) == 0 || Attr(n, "training_mode", 0) != 0) return false;
            foreach (var p in n.Input.Skip(1))
            {
                if (!Weight(p, out var t) || t.Dims.Count != 1 || t.Dims[0] != head.Channels) return false;
                splits[p] = 0;
            }
            return true;
        }
        return false;
    }

    /// <summary>A scalar (an initializer or a Constant node, copied to every shard) or a per-channel initializer (cut).</summary>
    private bool Constant(string t, Head head, Dictionary<string, int> splits, SortedSet<int> constants)
    {
        if (_g.Initializers.TryGetValue(t, out var init))
        {
            if (init.Dims.All(d => d == 1)) return true;
            var rank = init.Dims.Count;
            var axis = rank - head.ChannelFromEnd;
            if (!IsFloat(init) || axis < 0 || init.Dims[axis] != head.Channels || init.Dims.Where((_, i) => i != axis).Any(d => d != 1)) return false;
            splits[t] = axis;
            return true;
        }
        if (_g.Producer.TryGetValue(t, out var p) && IsScalarConstantNode(p))
        {
            constants.Add(p);
            return true;
        }
        return false;
    }

    private int LastReader(string t) => _consumers.TryGetValue(t, out var readers) ? readers.Max() : -1;

    private bool IsConstant(string t) =>
        _g.Initializers.ContainsKey(t) || (_g.Producer.TryGetValue(t, out var p) && _g.Nodes[p].OpType == "Constant");

    private bool IsScalarConstantNode(int node)
    {
        var n = _g.Nodes[node];
        return n.OpType == "Constant" && n.Input.Count == 0 && n.Attribute.Count == 1 && n.Attribute[0].Name == "value" && n.Attribute[0].T is { } t && GraphIndex.Elements(t) == 1;
    }

    private bool Weight(string name, out TensorProto tensor) =>
        _g.Initializers.TryGetValue(name, out tensor!) && IsFloat(tensor) && !_g.GraphInputs.Contains(name);

    private static bool IsFloat(TensorProto t) => t.DataType == (int)TensorProto.Types.DataType.Float;

    private static long Attr(NodeProto n, string name, long fallback) => n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;
}
