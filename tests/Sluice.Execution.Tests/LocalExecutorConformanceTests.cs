using Sluice.Tests.Shared;

namespace Sluice.Execution.Tests;

/// <summary>The executor conformance suite on the in-process runtime: one node as large as the test cluster's two workers together.</summary>
public sealed class LocalExecutorConformanceTests : ExecutorConformance
{
    protected override ExecutionOptions Options() => new() { Resources = new NodeResources(4, 0, 2L << 30).WithSimulatedGpus(4) };

    protected override IReadOnlySet<int> ActorProcesses { get; } = new HashSet<int> { Environment.ProcessId };
}
