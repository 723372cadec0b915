namespace Sluice.Execution;

/// <summary>What a node offers: cores, GPUs and memory. Detected by default, overridable.</summary>
public sealed record NodeResources(double Cpus, double Gpus, long MemoryBytes)
{
    public static NodeResources Detect() =>
        new(Environment.ProcessorCount, 0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    public override string ToString() => $"cpus={Cpus:0.##} gpus={Gpus:0.##} memory={MemoryBytes / (1024 * 1024)}MiB";
}
