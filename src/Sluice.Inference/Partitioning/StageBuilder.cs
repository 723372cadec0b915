using Onnx;

namespace Sluice.Inference.Partitioning;

/// <summary>The nodes and interface of one stage, found by walking back from its outputs.</summary>
internal sealed record StageGraph(
    int Index,
    IReadOnlyList<int> Nodes,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<string> InitializerNames,
    int DuplicatedNodes,
    long ParameterBytes);

/// <summary>
/// Builds stages from chosen cuts: a stage is a backward walk from its outputs (the next cut's tensor and the
/// graph outputs its own nodes finish, or, for the last stage, the graph outputs not finished earlier) that
/// stops at the previous cut's tensor, graph inputs and initializers. Duplicable nodes it reaches (the
/// attention-mask chain) are copied; graph inputs it reaches become its inputs.
/// </summary>
internal static class StageBuilder
{
    public static StageGraph Walk(GraphIndex g, IReadOnlyList<CutPoint> cuts, int index)
    {
        var last = index == cuts.Count;
        var input = index == 0 ? null : cuts[index - 1];
        var low = input?.After ?? -1;
        var high = last ? g.Nodes.Count - 1 : cuts[index].After;
        // Graph outputs finished inside this stage's node range (a tower done early) leave from this stage.
        bool Finishes(string o) => g.Producer.TryGetValue(o, out var p) && p > low && p <= high;
        var finished = g.Graph.Output.Select(o => o.Name).Where(o => last ? !(g.Producer.TryGetValue(o, out var p) && p <= low) : Finishes(o));
        var crossing = last ? null : cuts[index].Tensor;
        var outputs = crossing is null ? finished.ToList() : [crossing, .. finished.Where(o => o != crossing)];

        var nodes = new SortedSet<int>();
        var graphInputs = new HashSet<string>(StringComparer.Ordinal);
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(outputs);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (!seen.Add(t) || t == input?.Tensor) continue;
            if (g.Initializers.ContainsKey(t)) { initializers.Add(t); continue; }
            if (g.GraphInputs.Contains(t)) { graphInputs.Add(t); continue; }
            if (!g.Producer.TryGetValue(t, out var p)) continue; // an outer-scope name a subgraph defines itself
            if (!g.Duplicable[p] && (p <= low || p > high))
                throw new SluiceException($"partitioning bug: stage {index} reached node {p} ({g.Nodes[p].OpType}) outside nodes {low + 1}..{high}");
            if (!nodes.Add(p)) continue;
            foreach (var i in g.Inputs[p]) stack.Push(i);
        }

        var inputs = new List<string>();
        if (input?.Tensor is { } boundary) inputs.Add(boundary);
        inputs.AddRange(g.Graph.Input.Select(i => i.Name).Where(graphInputs.Contains));
        var inits = g.Graph.Initializer.Select(i => i.Name).Where(initializers.Contains).ToList();
        return new StageGraph(
            index,
            nodes.ToList(),
            inputs,
            outputs,
            inits,
            nodes.Count(n => g.Duplicable[n] && (n <= low || n > high)),
            inits.Sum(n => GraphIndex.Bytes(g.Initializers[n])));
    }

    /// <summary>The stage as an ONNX model sharing the source's opsets; <paramref name="boundary"/> types the crossing tensors.</summary>
    public static ModelProto Build(ModelProto source, GraphIndex g, StageGraph stage, IReadOnlyDictionary<string, ValueInfoProto> boundary)
    {
        var graph = new GraphProto
        {
            Name = $"{source.Graph.Name}_stage{stage.Index}",
            DocString = $"stage {stage.Index} of {source.Graph.Name}, cut by Sluice",
        };
        var produced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in stage.Nodes)
        {
            graph.Node.Add(g.Nodes[n].Clone());
            foreach (var o in g.Nodes[n].Output) produced.Add(o);
        }
        foreach (var name in stage.InitializerNames) graph.Initializer.Add(g.Initializers[name]); // shared, not copied
        var sourceInputs = source.Graph.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var sourceOutputs = source.Graph.Output.ToDictionary(o => o.Name, StringComparer.Ordinal);
        foreach (var i in stage.Inputs)
            graph.Input.Add(sourceInputs.TryGetValue(i, out var vi) ? vi.Clone() : boundary[i].Clone());
        foreach (var o in stage.Outputs)
            graph.Output.Add(sourceOutputs.TryGetValue(o, out var vo) ? vo.Clone() : boundary[o].Clone());
        var io = stage.Inputs.Concat(stage.Outputs).ToHashSet(StringComparer.Ordinal);
        foreach (var v in source.Graph.ValueInfo)
            if (produced.Contains(v.Name) && !io.Contains(v.Name)) graph.ValueInfo.Add(v.Clone());
        return Wrap(source, graph);
    }

    /// <summary>A model of <paramref name="graph"/> with the source's IR version, opsets, functions and metadata.</summary>
    public static ModelProto Wrap(ModelProto source, GraphProto graph)
    {
        var model = new ModelProto
        {
            IrVersion = source.IrVersion,
            ProducerName = "sluice-partition",
            ProducerVersion = source.ProducerVersion,
            Domain = source.Domain,
            ModelVersion = source.ModelVersion,
            DocString = source.DocString,
            Graph = graph,
        };
        model.OpsetImport.AddRange(source.OpsetImport.Select(o => o.Clone()));
        model.MetadataProps.AddRange(source.MetadataProps.Select(p => p.Clone()));
        model.Functions.AddRange(source.Functions.Select(f => f.Clone()));
        return model;
    }
}
