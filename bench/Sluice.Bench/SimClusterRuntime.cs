using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;

namespace Sluice.Bench;

/// <summary>
/// A cluster of simulated nodes inside this process, for the <c>scale</c> bench: a driver node (reads, writes; no GPUs)
/// and <c>nodes</c> worker nodes of <c>gpusPerNode</c> simulated GPUs each. The executor sees them as any cluster
/// runtime's nodes (<see cref="IWorkerRuntime.Nodes"/>), so its real placement code (the resource manager's node
/// books, per-node memory budgets) chooses where each actor goes; nothing crosses a process.
/// </summary>
/// <remarks>
/// Each node has its own block store (a <see cref="LocalWorkerRuntime"/> named after the node) and its own
/// <see cref="SimulatedDevices"/>, as a worker silo does: an actor's output stays on its node, and a consumer fetches
/// it from the owner's store by the ref's node (a dictionary look-up here, a network fetch on a real cluster).
/// </remarks>
internal sealed class SimClusterRuntime : IWorkerRuntime
{
    public const string DriverId = "driver";

    private readonly LocalWorkerRuntime _driver;
    private readonly Dictionary<string, (LocalWorkerRuntime Store, SimulatedDevices? Devices)> _byId = new(StringComparer.Ordinal);

    public SimClusterRuntime(int nodes, int gpusPerNode, double cpusPerNode, long memoryPerNode)
    {
        Resources = new NodeResources(Environment.ProcessorCount, 0, memoryPerNode);
        _driver = new LocalWorkerRuntime(Resources, DriverId);
        _byId[DriverId] = (_driver, null);
        var infos = new List<NodeInfo> { new(DriverId, Resources) };
        for (var i = 0; i < nodes; i++)
        {
            var id = $"sim{i:D3}";
            var res = new NodeResources(cpusPerNode, 0, memoryPerNode).WithSimulatedGpus(gpusPerNode);
            _byId[id] = (new LocalWorkerRuntime(res, id), new SimulatedDevices(gpusPerNode));
            infos.Add(new NodeInfo(id, res));
        }
        Nodes = infos;
    }

    public string NodeId => DriverId;

    public NodeResources Resources { get; }

    public IReadOnlyList<NodeInfo> Nodes { get; }

    public long StoredBytes => _byId.Values.Sum(n => n.Store.StoredBytes);

    /// <summary>Each worker node's simulated devices, nodes in order.</summary>
    public IEnumerable<SimulatedDevices> Devices => _byId.Values.Where(n => n.Devices is not null).Select(n => n.Devices!);

    public BlockRef Put(Block block) => _driver.Put(block);

    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => ValueTask.FromResult(Owner(block).GetStored(block));

    public void Free(BlockRef block) => Owner(block).Free(block);

    private LocalWorkerRuntime Owner(BlockRef block) =>
        _byId.TryGetValue(block.Node, out var n) ? n.Store : throw new InvalidOperationException($"block {block.Id} names node '{block.Node}', which this runtime does not have");

    public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
        _driver.RunReadAsync(task, taskIndex, blockRows, transform, callbacks, cancellationToken);

    public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) =>
        Task.Run(async () => _driver.Put(await work(Owner(input).GetStored(input), cancellationToken).ConfigureAwait(false)), cancellationToken);

    public async Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken)
    {
        var node = spec.Node is { } id && _byId.TryGetValue(id, out var n) ? n
            : throw new InvalidOperationException($"actor {spec.Operator}#{spec.Index} was placed on node '{spec.Node}', which this runtime does not have");
        var processor = spec.Create();
        try
        {
            // As a worker silo does: the actor uses its own node's simulated devices, by the ids its grant names.
            await processor.InitializeAsync(spec.Context with { Simulated = node.Devices }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await processor.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new SimActor(this, spec, processor, node.Store);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class SimActor(SimClusterRuntime runtime, ActorSpec spec, IBatchProcessor processor, LocalWorkerRuntime store) : IActorHandle
    {
        public ActorSpec Spec => spec;

        public Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken) =>
            Task.Run(async () =>
            {
                var block = runtime.Owner(input).GetStored(input);
                var output = await BatchRunner.ApplyAsync(spec.Operator, processor.ProcessAsync, block, spec.BatchSize, cancellationToken).ConfigureAwait(false);
                return store.Put(output);
            }, cancellationToken);

        public ValueTask DisposeAsync() => processor.DisposeAsync();
    }
}
