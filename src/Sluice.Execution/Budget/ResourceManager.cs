using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>Holds the node's cpus, gpus and memory, and never hands out more than the node has.</summary>
internal sealed class ResourceManager(NodeResources node)
{
    // Sums of fractional requests (0.25 + 0.5 + 0.25) must compare exactly against whole totals.
    private const double Epsilon = 1e-9;

    public NodeResources Node => node;

    public double CpusUsed { get; private set; }

    public double GpusUsed { get; private set; }

    public long MemoryUsed { get; private set; }

    public bool Fits(ResourceRequest r) =>
        CpusUsed + r.Cpus <= node.Cpus + Epsilon && GpusUsed + r.Gpus <= node.Gpus + Epsilon && MemoryUsed + r.MemoryBytes <= node.MemoryBytes;

    public bool TryAcquire(ResourceRequest r)
    {
        if (!Fits(r)) return false;
        CpusUsed += r.Cpus;
        GpusUsed += r.Gpus;
        MemoryUsed += r.MemoryBytes;
        return true;
    }

    public void Release(ResourceRequest r)
    {
        CpusUsed -= r.Cpus;
        GpusUsed -= r.Gpus;
        MemoryUsed -= r.MemoryBytes;
    }

    public string Describe() => $"cpus {CpusUsed:0.##}/{node.Cpus:0.##}, gpus {GpusUsed:0.##}/{node.Gpus:0.##}";
}
