namespace Sluice.Inference.Partitioning;

/// <summary>A place the graph can be cut: after node <see cref="After"/>, only <see cref="Tensor"/> crosses.</summary>
/// <param name="After">Index of the last node (in topological order) before the cut.</param>
/// <param name="Tensor">The one activation tensor crossing the cut; null when none does (one tower done, the next not begun).</param>
internal sealed record CutPoint(int After, string? Tensor);

/// <summary>
/// Finds where a graph narrows to a single activation tensor: walking nodes in topological order, a prefix
/// ending at node i is a cut point when the tensors it produces and later nodes read are exactly one (or none:
/// the graph is two independent parts there, like the towers of a dual-tower model).
/// Graph inputs are not counted (later stages are fed them), nor are tensors of duplicable nodes
/// (computed from graph inputs only, like the attention-mask chain: later stages recompute them), nor
/// finished graph outputs (no later node reads them: one tower of a dual-tower model done), which ride
/// along as columns to the end. A prefix that produces a graph output later nodes still read is never cut.
/// Of consecutive cut points with no parameters between them only the last is kept: cutting at any of them
/// balances the same, and the last one's tensor is usually the smallest (after pooling) or nothing at all.
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
        long bytesSinceCut = 0;
        for (var i = 0; i < lastHeavy; i++)
        {
            bytesSinceCut += g.ParameterBytes[i];
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
                    var uses = g.Uses.GetValueOrDefault(o);
                    if (g.GraphOutputs.Contains(o) && uses > 0) producedOutput = true;
                    if (uses == 0) continue;
                    remaining[o] = uses;
                    live.Add(o);
                }
            }
            if (producedOutput) break;
            if (live.Count <= 1 && !g.Duplicable[i])
            {
                var tensor = live.FirstOrDefault();
                if (cuts.Count > 0 && bytesSinceCut == 0) cuts[^1] = new CutPoint(i, tensor);
                else if (cuts.Count == 0 || cuts[^1].Tensor != tensor) cuts.Add(new CutPoint(i, tensor));
                bytesSinceCut = 0;
            }
        }
        return cuts;
    }
}
