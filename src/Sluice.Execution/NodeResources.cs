namespace Sluice.Execution;

/// <summary>What a node offers: cores, GPUs (whole devices) and memory. Detected by default, overridable.</summary>
public sealed record NodeResources(double Cpus, double Gpus, long MemoryBytes)
{
    /// <summary>The GPUs exist only in time (<c>--sim-gpus</c>): only <c>simulate</c> stages can use them.</summary>
    public bool GpusSimulated { get; init; }

    /// <summary>
    /// Memory of each GPU in bytes (the smallest, where they differ); 0 where unknown. A stage whose model weights
    /// need more per device is refused before the job starts (<see cref="Sluice.Contracts.IDeviceMemoryNeed"/>).
    /// </summary>
    public long GpuMemoryBytes { get; init; }

    public int GpuCount => (int)Math.Floor(Gpus);

    public static NodeResources Detect()
    {
        var gpus = Resources.GpuDetection.Detect();
        return new(Environment.ProcessorCount, gpus.Count, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
        {
            GpuMemoryBytes = gpus.Count > 0 ? gpus.Min(g => g.MemoryMiB) * 1024 * 1024 : 0,
        };
    }

    /// <summary>This node with <paramref name="count"/> simulated GPUs in place of any real ones, each of <paramref name="memoryBytes"/> (0: unlimited).</summary>
    public NodeResources WithSimulatedGpus(int count, long memoryBytes = 0) =>
        this with { Gpus = count, GpusSimulated = count > 0, GpuMemoryBytes = count > 0 ? memoryBytes : 0 };

    public override string ToString() =>
        $"cpus={Cpus:0.##} gpus={Gpus:0.##}{(GpusSimulated ? " (simulated)" : "")}{(GpuMemoryBytes > 0 ? $" x {GpuMemoryBytes / (1024 * 1024)}MiB" : "")} memory={MemoryBytes / (1024 * 1024)}MiB";
}
