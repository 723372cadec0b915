using System.Text;

namespace Sluice.Execution.Planning;

/// <summary>The operators of a job, upstream first, joined by bounded queues.</summary>
public sealed record PhysicalPlan(IReadOnlyList<PhysicalOperatorSpec> Operators)
{
    public string Explain(NodeResources node, long memoryBudget)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"node: {node}; memory budget for blocks in flight: {memoryBudget / (1024 * 1024)} MiB");
        for (var i = 0; i < Operators.Count; i++) sb.AppendLine($"  {i + 1}. {Operators[i].Describe()}");
        return sb.ToString();
    }
}
