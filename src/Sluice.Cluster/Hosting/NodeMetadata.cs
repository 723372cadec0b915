using System.Globalization;
using Sluice.Execution;

namespace Sluice.Cluster.Hosting;

/// <summary>A node's id and resources as silo metadata, so every node sees what every other offers.</summary>
internal static class NodeMetadata
{
    public const string Node = "sluice.node";
    private const string Cpus = "sluice.cpus";
    private const string Gpus = "sluice.gpus";
    private const string SimGpus = "sluice.sim_gpus";
    private const string Memory = "sluice.memory";
    private const string GpuMemory = "sluice.gpu_memory";
    /// <summary>The worker group an autoscaler started the node for; absent when it belongs to none.</summary>
    private const string Group = "sluice.group";

    public static Dictionary<string, string> Of(string nodeId, NodeResources r, string? group = null)
    {
        var metadata = Of(nodeId, r);
        if (group is not null) metadata[Group] = group;
        return metadata;
    }

    private static Dictionary<string, string> Of(string nodeId, NodeResources r) => new()
    {
        [Node] = nodeId,
        [Cpus] = r.Cpus.ToString("R", CultureInfo.InvariantCulture),
        [Gpus] = r.Gpus.ToString("R", CultureInfo.InvariantCulture),
        [SimGpus] = r.GpusSimulated ? "true" : "false",
        [Memory] = r.MemoryBytes.ToString(CultureInfo.InvariantCulture),
        [GpuMemory] = r.GpuMemoryBytes.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The node described by <paramref name="metadata"/>; null when it is not a Sluice node (or its metadata has not arrived yet).</summary>
    public static NodeInfo? Read(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(Node, out var id) || !metadata.TryGetValue(Cpus, out var cpus) || !metadata.TryGetValue(Gpus, out var gpus)
            || !metadata.TryGetValue(Memory, out var memory)) return null;
        var resources = new NodeResources(double.Parse(cpus, CultureInfo.InvariantCulture), double.Parse(gpus, CultureInfo.InvariantCulture),
            long.Parse(memory, CultureInfo.InvariantCulture))
        {
            GpusSimulated = metadata.TryGetValue(SimGpus, out var sim) && sim == "true",
            GpuMemoryBytes = metadata.TryGetValue(GpuMemory, out var gpuMemory) ? long.Parse(gpuMemory, CultureInfo.InvariantCulture) : 0,
        };
        return new NodeInfo(id, resources) { Group = metadata.TryGetValue(Group, out var group) ? group : null };
    }
}
