namespace Sluice.Inference.Partitioning;

/// <summary>A place the graph can be cut: after node <see cref="After"/>, only <see cref="Tensor"/> crosses.</summary>
/// <param name="After">Index of the last node (in topological order) before the cut.</param>
/// <param name="Tensor">The one activation tensor crossing the cut.</param>
internal sealed record CutPoint(int After, string Tensor);

/// <summary>
/// Finds where a graph narrows to a single activation tensor: walking nodes in topological order, a prefix
/// ending at node i is a cut point when the tensors it produces and later nodes read are exactly one.
/// Graph inputs are not counted (later stages are fed them), nor are tensors of duplicable nodes
/// (computed from graph inputs only, like the attention-mask chain: later stages recompute them).
/// A prefix that produces a graph output is never cut.
/// </summary>
internal static class CutPointFinder
{
    public static IReadOnlyList<CutPoint> Find(GraphIndex g)
    {
        var lastHeavy = Array.FindLastIndex(g.Duplicable, d => !d);
        var live = new HashSet<string>(StringComparer.Ordinal);
        var remaining = new Dictionary<string, int>(StringComparer.Ordinal);
        var producedOutput = false;
        var cuts = new List<CutPoint>();
        for (var i = 0; i < lastHeavy; i++)
        {
            foreach (var t in g.Inputs[i])
            {
                if (!live.Contains(t)) continue;
                if (--remaining[t] == 0) live.Remove(t);
            }
            if (!g.Duplicable[i])
            {
                foreach (var o in g.Nodes[i].Output)
                {
                    if (o.Length == 0) continue;
                    if (g.GraphOutputs.Contains(o)) producedOutput = true;
                    var uses = g.Uses.GetValueOrDefault(o);
                    if (uses == 0) continue;
                    remaining[o] = uses;
                    live.Add(o);
                }
            }
            if (producedOutput) break;
            if (live.Count == 1 && !g.Duplicable[i])
            {
                var tensor = live.First();
                if (cuts.Count == 0 || cuts[^1].Tensor != tensor) cuts.Add(new CutPoint(i, tensor));
            }
        }
        return cuts;
    }
}
