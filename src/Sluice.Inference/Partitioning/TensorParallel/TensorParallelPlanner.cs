using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>
/// Plans tensor parallelism (DESIGN.md §5): finds the regions that split (<see cref="RegionFinder"/>), keeps the
/// largest — every region whose weights reach <see cref="DefaultMinRegionBytes"/>, largest first where two overlap —
/// and cuts the rest of the graph into replicated segments between them. A node runs in the earliest segment its
/// inputs allow, so work that does not depend on a region (the attention-mask chain) runs before it.
/// </summary>
internal static class TensorParallelPlanner
{
    /// <summary>
    /// Smaller regions stay whole: each sharded region costs a copy of its output to the host and a sum, which
    /// buys little for a region of under 1 MiB of weights (MiniLM's attention projections, ResNet18's first layers).
    /// </summary>
    public const long DefaultMinRegionBytes = 1L << 20;

    /// <exception cref="BadInputException">Fewer than 2 shards, or a graph without a region to split.</exception>
    public static TensorParallelPlan Plan(ModelProto model, int shards, long minRegionBytes = DefaultMinRegionBytes)
    {
        if (shards < 2) throw new BadInputException($"OnnxOptions.TensorParallel: {shards} shards cannot be planned; give 2 or more");
        var g = new GraphIndex(model.Graph);
        var opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => (int)o.Version).DefaultIfEmpty(1).Max();
        var regions = Choose(new RegionFinder(g, opset).FindAll(), shards, minRegionBytes);
        if (regions.Count == 0)
            throw new BadInputException(
                $"OnnxOptions.TensorParallel is {shards}, but model '{model.Graph.Name}' has no MatMul/Gemm/Conv pair or embedding Gather with " +
                $"at least {minRegionBytes:N0} B of float weights to split; use TensorParallel 1");

        var steps = Schedule(g, regions);
        var crossing = steps.SelectMany(s => s.Inputs.Concat(s.Outputs))
            .Where(t => !g.GraphInputs.Contains(t) && !g.GraphOutputs.Contains(t)).Distinct(StringComparer.Ordinal).ToList();
        var types = ModelPartitioner.BoundaryTypes(model, g, crossing);

        var pieces = new List<PlannedPiece>();
        foreach (var step in steps)
        {
            if (step.Region is { } region)
            {
                var models = Enumerable.Range(0, shards).Select(k => ShardBuilder.Build(model, g, region, pieces.Count, k, shards, types)).ToList();
                pieces.Add(new PlannedPiece(PieceKind.Sharded, region, models, step.Inputs, step.Outputs));
            }
            else
            {
                var inits = model.Graph.Initializer.Select(i => i.Name)
                    .Where(step.Nodes.SelectMany(n => g.Inputs[n]).Where(g.Initializers.ContainsKey).ToHashSet(StringComparer.Ordinal).Contains).ToList();
                var stage = new StageGraph(pieces.Count, step.Nodes, step.Inputs, step.Outputs, inits, 0, 0);
                pieces.Add(new PlannedPiece(PieceKind.Replicated, null, [StageBuilder.Build(model, g, stage, types)], step.Inputs, step.Outputs));
            }
        }
        return new TensorParallelPlan(shards, regions, pieces, g.TotalParameterBytes);
    }

    private static List<ShardRegion> Choose(IEnumerable<ShardRegion> found, int shards, long minRegionBytes)
    {
        var taken = new HashSet<int>();
        var chosen = new List<ShardRegion>();
        foreach (var r in found.Where(r => r.WeightBytes >= minRegionBytes && r.Channels >= shards).OrderByDescending(r => r.WeightBytes).ThenBy(r => r.First))
        {
            if (r.Nodes.Any(taken.Contains)) continue;
            taken.UnionWith(r.Nodes);
            chosen.Add(r);
        }
        return chosen.OrderBy(r => r.First).ToList();
    }

    private sealed record Step(ShardRegion? Region, IReadOnlyList<int> Nodes, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

    /// <summary>Segment 0, region 0, segment 1, …, region m-1, segment m; empty segments left out.</summary>
    private static List<Step> Schedule(GraphIndex g, List<ShardRegion> regions)
    {
        var count = g.Nodes.Count;
        var regionOf = Enumerable.Repeat(-1, count).ToArray();
        for (var j = 0; j < regions.Count; j++)
            foreach (var n in regions[j].Nodes) regionOf[n] = j;
        // Constant nodes are copied into every piece that reads them rather than crossing between pieces.
        var free = g.Nodes.Select(n => n.OpType == "Constant" && n.Input.Count == 0).ToArray();

        var segment = new int[count];
        for (var n = 0; n < count; n++)
        {
            if (regionOf[n] >= 0 || free[n]) continue;
            foreach (var t in g.Inputs[n])
                if (g.Producer.TryGetValue(t, out var p) && !free[p])
                    segment[n] = Math.Max(segment[n], regionOf[p] >= 0 ? regionOf[p] + 1 : segment[p]);
        }
        for (var j = 0; j < regions.Count; j++)
            if (g.Producer.TryGetValue(regions[j].Input, out var p) && !free[p] && (regionOf[p] >= 0 ? regionOf[p] >= j : segment[p] > j))
                throw new SluiceException($"tensor parallel planning bug: region {j} reads '{regions[j].Input}', which is computed after it");

        var raw = new List<(ShardRegion? Region, List<int> Nodes)>();
        for (var s = 0; s <= regions.Count; s++)
        {
            var nodes = Enumerable.Range(0, count).Where(n => regionOf[n] < 0 && !free[n] && segment[n] == s).ToList();
            if (nodes.Count > 0) raw.Add((null, nodes));
            if (s < regions.Count) raw.Add((regions[s], regions[s].Constants.Concat(regions[s].Nodes).ToList()));
        }

        var inputs = raw.Select(r => r.Region is { } region ? [region.Input] : SegmentInputs(g, r.Nodes, free)).ToList();
        var steps = new List<Step>();
        for (var i = 0; i < raw.Count; i++)
        {
            var (region, nodes) = raw[i];
            var later = inputs.Skip(i + 1).SelectMany(x => x).ToHashSet(StringComparer.Ordinal);
            var outputs = region is not null
                ? [region.Output]
                : nodes.SelectMany(n => g.Nodes[n].Output).Where(o => o.Length > 0 && (later.Contains(o) || g.GraphOutputs.Contains(o))).Distinct(StringComparer.Ordinal).ToList();
            if (outputs.Count == 0) continue; // nothing later reads it: dead code
            if (region is null) nodes = WithConstants(g, nodes, free);
            steps.Add(new Step(region, nodes, inputs[i], outputs));
        }
        return steps;
    }

    /// <summary>Tensors a segment reads that neither it nor an initializer or Constant node provides, graph inputs first.</summary>
    private static List<string> SegmentInputs(GraphIndex g, List<int> nodes, bool[] free)
    {
        var produced = nodes.SelectMany(n => g.Nodes[n].Output).ToHashSet(StringComparer.Ordinal);
        var read = nodes.SelectMany(n => g.Inputs[n]).Distinct(StringComparer.Ordinal)
            .Where(t => !produced.Contains(t) && !g.Initializers.ContainsKey(t) &&
                        (g.GraphInputs.Contains(t) || (g.Producer.TryGetValue(t, out var p) && !free[p])))
            .ToList();
        var graphInputs = g.Graph.Input.Select(i => i.Name).Where(read.Contains).ToList();
        return graphInputs.Concat(read.Where(t => !g.GraphInputs.Contains(t))).ToList();
    }

    private static List<int> WithConstants(GraphIndex g, List<int> nodes, bool[] free)
    {
        var constants = nodes.SelectMany(n => g.Inputs[n]).Where(t => g.Producer.TryGetValue(t, out var p) && free[p]).Select(t => g.Producer[t]);
        return constants.Concat(nodes).Distinct().Order().ToList();
    }
}
