namespace Sluice.Inference.Partitioning;

/// <summary>
/// Chooses which cut points to use. Boundaries 0..n+1 are the graph's start, the n cut points and its end;
/// a stage spans two chosen boundaries. First the smallest achievable largest stage weight M (bytes or cost) is
/// found; then, among plans whose stages all weigh ≤ M·(1 + <see cref="Slack"/>), the most even one (least sum of
/// squares) is taken — so a 4 KB stage is not split off just to shave 4 KB off a 47 MB embedding stage. Every
/// stage's bytes stay ≤ the cap. Both passes are dynamic programs, O(K·n²).
/// </summary>
internal sealed class StageBalancer
{
    private readonly long[] _bytes;   // cumulative parameter bytes at each boundary
    private readonly double[] _cost;  // cumulative cost at each boundary

    public StageBalancer(GraphIndex g, IReadOnlyList<CutPoint> cuts, IReadOnlyList<double> nodeCost)
    {
        var ends = cuts.Select(c => c.After).Append(g.Nodes.Count - 1).ToArray();
        _bytes = new long[ends.Length + 1];
        _cost = new double[ends.Length + 1];
        long b = 0;
        double c = 0;
        var node = 0;
        for (var k = 0; k < ends.Length; k++)
        {
            for (; node <= ends[k]; node++)
            {
                b += g.ParameterBytes[node];
                c += nodeCost[node];
            }
            _bytes[k + 1] = b;
            _cost[k + 1] = c;
        }
    }

    private int Boundaries => _bytes.Length; // n + 2

    public long SegmentBytes(int from, int to) => _bytes[to] - _bytes[from];

    /// <summary>The fewest stages with every stage's bytes ≤ cap, or null when even cutting everywhere leaves a stage over it.</summary>
    public int? FewestStages(long cap)
    {
        var stages = 0;
        var at = 0;
        while (at < Boundaries - 1)
        {
            var next = at;
            while (next + 1 < Boundaries && SegmentBytes(at, next + 1) <= cap) next++;
            if (next == at) return null;
            at = next;
            stages++;
        }
        return stages;
    }

    /// <summary>The largest stage when the model is cut at every cut point: no partition does better.</summary>
    public long SmallestAchievableMaxBytes() =>
        Enumerable.Range(0, Boundaries - 1).Max(i => SegmentBytes(i, i + 1));

    /// <summary>The chosen cut indices (0-based into the cut-point list), K−1 of them.</summary>
    public int[] Choose(int stages, PartitionBalance balance, long cap = long.MaxValue)
    {
        var (best, _) = Solve(stages, balance, cap, double.PositiveInfinity, minimizeMax: true);
        var (_, chosen) = Solve(stages, balance, cap, best * (1 + Slack), minimizeMax: false);
        return chosen;
    }

    /// <summary>How far above the smallest achievable largest stage the evenness pass may go.</summary>
    public const double Slack = 0.01;

    private (double Max, int[] Cuts) Solve(int stages, PartitionBalance balance, long cap, double limit, bool minimizeMax)
    {
        var n = Boundaries;
        double W(int a, int b) => balance == PartitionBalance.Params ? SegmentBytes(a, b) : _cost[b] - _cost[a];
        var max = new double[stages + 1, n];
        var sq = new double[stages + 1, n];
        var from = new int[stages + 1, n];
        for (var j = 0; j <= stages; j++)
            for (var b = 0; b < n; b++) { max[j, b] = double.PositiveInfinity; sq[j, b] = double.PositiveInfinity; from[j, b] = -1; }
        max[0, 0] = 0;
        sq[0, 0] = 0;
        for (var j = 1; j <= stages; j++)
            for (var b = j; b < n; b++)
                for (var a = j - 1; a < b; a++)
                {
                    if (double.IsPositiveInfinity(max[j - 1, a]) || SegmentBytes(a, b) > cap) continue;
                    var w = W(a, b);
                    if (w > limit) continue;
                    var m = Math.Max(max[j - 1, a], w);
                    var s = sq[j - 1, a] + w * w;
                    var better = minimizeMax ? m < max[j, b] || (m == max[j, b] && s < sq[j, b]) : s < sq[j, b];
                    if (better) { max[j, b] = m; sq[j, b] = s; from[j, b] = a; }
                }
        if (from[stages, n - 1] < 0)
            throw new InvalidOperationException($"no {stages}-stage partition under the cap {cap}; callers check feasibility first");
        var chosen = new List<int>();
        for (int j = stages, b = n - 1; j > 1; j--)
        {
            b = from[j, b];
            chosen.Add(b - 1); // boundary b is cut point b-1
        }
        chosen.Reverse();
        return (max[stages, n - 1], chosen.ToArray());
    }
}
