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
        var actor = new SimActor(this, spec, processor, node.Store);
        lock (_actors) _actors.Add(actor);
        return actor;
    }

    private readonly List<SimActor> _actors = [];

    /// <summary>
    /// Where device time went, per actor, averaged: from <paramref name="startTicks"/> to its first task, the gaps
    /// between one task's end and the next one's call, and from its last task's end to <paramref name="endTicks"/>.
    /// </summary>
    public (double FirstMs, double GapMs, double TailMs, double CallToDoneMs) Timeline(long startTicks, long endTicks)
    {
        List<SimActor> actors;
        lock (_actors) actors = [.. _actors];
        double first = 0, gaps = 0, tail = 0, work = 0;
        var n = 0;
        foreach (var a in actors)
        {
            var calls = a.Calls;
            if (calls.Count == 0) continue;
            n++;
            first += Ms(calls[0].Called - startTicks);
            for (var i = 1; i < calls.Count; i++) gaps += Ms(calls[i].Called - calls[i - 1].Done);
            tail += Ms(endTicks - calls[^1].Done);
            foreach (var c in calls) work += Ms(c.Done - c.Called);
        }
        return n == 0 ? default : (first / n, gaps / n, tail / n, work / n);

        static double Ms(long ticks) => ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class SimActor(SimClusterRuntime runtime, ActorSpec spec, IBatchProcessor processor, LocalWorkerRuntime store) : IActorHandle
    {
        public ActorSpec Spec => spec;

        /// <summary>When each task was handed to it and when it returned (max_concurrency 1 in the bench: one at a time).</summary>
        public List<(long Called, long Done)> Calls { get; } = [];

        /// <remarks>
        /// The call returns to the loop at once (a yield, as a message send would): the node's own work (taking the
        /// device, arming its timer) runs off the loop, as it would on the node's own cores, and is not counted as the
        /// engine's cost. No <c>Task.Run</c> wrapper beyond that: a simulated model waits on its device without blocking.
        /// </remarks>
        public async Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken)
        {
            var called = System.Diagnostics.Stopwatch.GetTimestamp();
            await Task.Yield();
            var block = runtime.Owner(input).GetStored(input);
            var output = await BatchRunner.ApplyAsync(spec.Operator, processor.ProcessAsync, block, spec.BatchSize, cancellationToken).ConfigureAwait(false);
            var put = store.Put(output);
            lock (Calls) Calls.Add((called, System.Diagnostics.Stopwatch.GetTimestamp()));
            return put;
        }

        public ValueTask DisposeAsync() => processor.DisposeAsync();
    }
}
