using System.Text;

namespace Sluice.Execution.Planning;

/// <summary>The operators of a job, upstream first, joined by bounded queues.</summary>
internal sealed record PhysicalPlan(IReadOnlyList<PhysicalOperatorSpec> Operators)
{
    public string Explain(NodeResources node, long memoryBudget)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"node: {node}; memory budget for blocks in flight: {memoryBudget / (1024 * 1024)} MiB");
        for (var i = 0; i < Operators.Count; i++) sb.AppendLine($"  {i + 1}. {Operators[i].Describe()}");
        var pools = Operators.OfType<ActorMapSpec>().ToList();
        if (pools.Count > 0)
        {
            double Sum(Func<ActorMapSpec, int> actors, Func<ActorMapSpec, double> each) => pools.Sum(p => actors(p) * each(p));
            sb.AppendLine($"  actor pools hold at min: cpus {Sum(p => p.Options.Pool.Min, p => p.Resources.Cpus):0.##} gpus {Sum(p => p.Options.Pool.Min, p => p.Resources.Gpus):0.##}; " +
                $"at max: cpus {Sum(p => p.Options.Pool.Max, p => p.Resources.Cpus):0.##} gpus {Sum(p => p.Options.Pool.Max, p => p.Resources.Gpus):0.##} " +
                $"(of cpus {node.Cpus:0.##}, gpus {node.Gpus:0.##}; pools share what is left by measured cost per row)");
        }
        return sb.ToString();
    }
}
