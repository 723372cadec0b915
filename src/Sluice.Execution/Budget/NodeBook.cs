using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>
/// One node's books: cpus, memory, and each GPU's allocated share. A request of 1, 2, … gpus takes
/// that many whole free devices; a fraction takes a share of one device, packed onto the fullest
/// device it fits so whole devices stay free for whole requests. A device takes an actor only while the
/// actors' summed device memory fits it too (<see cref="DeviceMemoryBook"/>).
/// </summary>
internal sealed class NodeBook(NodeInfo node)
{
    // Sums of fractional requests (0.25 + 0.5 + 0.25) must compare exactly against whole totals.
    public const double Epsilon = 1e-9;

    public NodeInfo Node => node;

    public double CpusUsed { get; private set; }

    public long MemoryUsed { get; private set; }

    public double[] DeviceUsed { get; } = new double[node.Resources.GpuCount];

    public double[] PeakDeviceUsed { get; } = new double[node.Resources.GpuCount];

    public DeviceMemoryBook DeviceMemory { get; } = new(node.Resources.GpuCount, node.Resources.GpuMemoryBytes);

    public double FreeCpus => node.Resources.Cpus - CpusUsed;

    public double FreeGpus => node.Resources.Gpus - DeviceUsed.Sum();

    public bool Fits(ResourceRequest r) =>
        CpusUsed + r.Cpus <= node.Resources.Cpus + Epsilon && MemoryUsed + r.MemoryBytes <= node.Resources.MemoryBytes && PickDevices(r) is not null;

    public ResourceGrant? TryAcquire(ResourceRequest r)
    {
        if (CpusUsed + r.Cpus > node.Resources.Cpus + Epsilon || MemoryUsed + r.MemoryBytes > node.Resources.MemoryBytes) return null;
        var devices = PickDevices(r);
        if (devices is null) return null;
        DeviceMemory.Add(devices, r.DeviceMemoryBytes);
        CpusUsed += r.Cpus;
        MemoryUsed += r.MemoryBytes;
        var share = Share(r);
        foreach (var d in devices)
        {
            DeviceUsed[d] += share;
            PeakDeviceUsed[d] = Math.Max(PeakDeviceUsed[d], DeviceUsed[d]);
        }
        return new ResourceGrant(r, devices, node.Id);
    }

    public void Release(ResourceGrant grant)
    {
        CpusUsed -= grant.Request.Cpus;
        MemoryUsed -= grant.Request.MemoryBytes;
        var share = Share(grant.Request);
        foreach (var d in grant.GpuIds) DeviceUsed[d] = Math.Max(0, DeviceUsed[d] - share);
        DeviceMemory.Remove(grant.GpuIds, grant.Request.DeviceMemoryBytes);
    }

    private static double Share(ResourceRequest r) => r.Gpus >= 1 ? 1.0 : r.Gpus;

    private int[]? PickDevices(ResourceRequest r)
    {
        var gpus = r.Gpus;
        if (gpus <= 0) return [];
        if (gpus >= 1)
        {
            var whole = (int)Math.Round(gpus);
            var free = Enumerable.Range(0, DeviceUsed.Length).Where(d => DeviceUsed[d] <= Epsilon && DeviceMemory.Fits(d, r.DeviceMemoryBytes)).Take(whole).ToArray();
            return free.Length == whole ? free : null;
        }
        var best = -1;
        for (var d = 0; d < DeviceUsed.Length; d++)
        {
            if (DeviceUsed[d] + gpus > 1 + Epsilon || !DeviceMemory.Fits(d, r.DeviceMemoryBytes)) continue;
            if (best < 0 || DeviceUsed[d] > DeviceUsed[best]) best = d;
        }
        return best < 0 ? null : [best];
    }
}
