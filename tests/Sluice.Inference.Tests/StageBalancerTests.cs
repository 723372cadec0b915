using Onnx;
using Sluice.Inference.Partitioning;

namespace Sluice.Inference.Tests;

/// <summary>
/// Latency balance decided on given costs, so the outcome is exact: the chosen cuts make the largest stage no
/// larger than the best any choice of cuts can do (within <see cref="StageBalancer.Slack"/>). How even the stages
/// of a real model come out under measured latency, and what that buys, is measured by <c>Sluice.Bench partition</c>
/// (stage balance and pipelined / whole rows/s), not asserted on wall-clock numbers.
/// </summary>
public sealed class StageBalancerTests
{
    /// <summary>A chain of <paramref name="nodes"/> Relu nodes, x → t1 → … → y, with a cut point after every node but the last.</summary>
    private static (GraphIndex Graph, List<CutPoint> Cuts) Chain(int nodes)
    {
        var graph = new GraphProto { Name = "relu-chain" };
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        for (var i = 0; i < nodes; i++)
        {
            var node = new NodeProto { OpType = "Relu", Name = $"relu{i}" };
            node.Input.Add(i == 0 ? "x" : $"t{i}");
            node.Output.Add(i == nodes - 1 ? "y" : $"t{i + 1}");
            graph.Node.Add(node);
        }
        return (new GraphIndex(graph), Enumerable.Range(0, nodes - 1).Select(i => new CutPoint(i, $"t{i + 1}")).ToList());
    }

    /// <summary>The cost of each stage when the chain is cut after the nodes at <paramref name="cuts"/> (cut point i = after node i).</summary>
    private static double[] StageCosts(double[] nodeCost, IReadOnlyList<int> cuts)
    {
        var ends = cuts.Append(nodeCost.Length - 1).ToArray();
        var costs = new double[ends.Length];
        var start = 0;
        for (var s = 0; s < ends.Length; s++)
        {
            for (var n = start; n <= ends[s]; n++) costs[s] += nodeCost[n];
            start = ends[s] + 1;
        }
        return costs;
    }

    private static IEnumerable<int[]> Combinations(int n, int k, int from = 0)
    {
        if (k == 0)
        {
            yield return [];
            yield break;
        }
        for (var i = from; i <= n - k; i++)
        {
            foreach (var rest in Combinations(n, k - 1, i + 1)) yield return [i, .. rest];
        }
    }

    /// <summary>Property: for random node costs and stage counts, latency balance reaches the smallest achievable largest stage (brute force).</summary>
    [Fact]
    public void Choose_LatencyOnRandomCosts_LargestStageIsTheSmallestAchievable()
    {
        for (var seed = 0; seed < 100; seed++)
        {
            var random = new Random(seed);
            var nodes = random.Next(3, 12);
            var stages = random.Next(2, Math.Min(nodes, 5) + 1);
            var cost = Enumerable.Range(0, nodes).Select(_ => random.Next(1, 1_000) * (random.NextDouble() < 0.2 ? 20.0 : 1.0)).ToArray();
            var (graph, cuts) = Chain(nodes);

            var chosen = new StageBalancer(graph, cuts, cost).Choose(stages, PartitionBalance.Latency);

            Assert.Equal(stages - 1, chosen.Length);
            Assert.Equal(chosen.Order().Distinct(), chosen);
            var best = Combinations(cuts.Count, stages - 1).Min(c => StageCosts(cost, c).Max());
            var largest = StageCosts(cost, chosen).Max();
            Assert.True(largest <= best * (1 + StageBalancer.Slack) + 1e-9, $"seed {seed}: largest stage {largest}, achievable {best} (costs {string.Join(", ", cost)}; cuts {string.Join(", ", chosen)})");
            Assert.Equal(cost.Sum(), StageCosts(cost, chosen).Sum(), 6);
        }
    }

    [Fact]
    public void Choose_LatencyOneExpensiveNode_GivesItAStageOfItsOwn()
    {
        double[] cost = [1, 1, 1, 100, 1, 1, 1];
        var (graph, cuts) = Chain(cost.Length);

        var chosen = new StageBalancer(graph, cuts, cost).Choose(3, PartitionBalance.Latency);

        Assert.Equal([3.0, 100, 3], StageCosts(cost, chosen)); // the 100 alone, the cheap nodes on either side of it
    }
}
