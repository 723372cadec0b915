using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>What an actor was given: its request, the node that holds it and, for gpus, the concrete devices on that node.</summary>
internal sealed record ResourceGrant(ResourceRequest Request, IReadOnlyList<int> GpuIds, string Node = "local");
