using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>What an actor was given: its request and, for gpus, the concrete devices.</summary>
public sealed record ResourceGrant(ResourceRequest Request, IReadOnlyList<int> GpuIds);
