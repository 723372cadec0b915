using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// This process as a cluster node: its id, what it offers, its block store and its simulated devices.
/// One per silo, shared by the grains it hosts and (on the driver) by the worker runtime.
/// </summary>
internal sealed class ClusterNode
{
    private long _bytesFetched;

    public ClusterNode(string id, NodeResources resources, int chunkBytes)
    {
        Id = id;
        Resources = resources;
        ChunkBytes = chunkBytes;
        // The node's blocks and the runner of its light tasks: the embedded runtime's code, naming this node in its refs.
        Local = new LocalWorkerRuntime(resources, id);
        // Each worker owns its simulated devices: actors placed here share them, as on a real machine.
        Simulated = resources.GpusSimulated ? new SimulatedDevices(resources.GpuCount) : null;
    }

    public string Id { get; }

    public NodeResources Resources { get; }

    public int ChunkBytes { get; }

    public LocalWorkerRuntime Local { get; }

    public SimulatedDevices? Simulated { get; }

    /// <summary>Bytes this node fetched from other nodes' stores.</summary>
    public long BytesFetched => Interlocked.Read(ref _bytesFetched);

    public void CountFetched(long bytes) => Interlocked.Add(ref _bytesFetched, bytes);
}
