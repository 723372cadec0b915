namespace Sluice.Execution;

/// <summary>What a node offers: cores, GPUs (whole devices) and memory. Detected by default, overridable.</summary>
public sealed record NodeResources(double Cpus, double Gpus, long MemoryBytes)
{
    /// <summary>The GPUs exist only in time (<c>--sim-gpus</c>): only <c>simulate</c> stages can use them.</summary>
    public bool GpusSimulated { get; init; }

    public int GpuCount => (int)Math.Floor(Gpus);

    public static NodeResources Detect() =>
        new(Environment.ProcessorCount, Resources.GpuDetection.DetectGpus(), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>This node with <paramref name="count"/> simulated GPUs in place of any real ones.</summary>
    public NodeResources WithSimulatedGpus(int count) => this with { Gpus = count, GpusSimulated = count > 0 };

    public override string ToString() =>
        $"cpus={Cpus:0.##} gpus={Gpus:0.##}{(GpusSimulated ? " (simulated)" : "")} memory={MemoryBytes / (1024 * 1024)}MiB";
}
