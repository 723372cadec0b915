using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>
/// One node's books: cpus, memory, and each GPU's allocated share. A request of 1, 2, … gpus takes
/// that many whole free devices; a fraction takes a share of one device, packed onto the fullest
/// device it fits so whole devices stay free for whole requests. A device takes an actor only while the
/// actors' summed device memory fits it too (<see cref="DeviceMemoryBook"/>).
/// </summary>
/// <remarks>
/// The GPUs in use and the whole free devices are counted as grants come and go, so <see cref="FreeGpus"/> and
/// <see cref="Fits"/> for whole devices are O(1): the resource manager asks every node of a cluster on each placement.
/// </remarks>
internal sealed class NodeBook(NodeInfo node)
{
    // Sums of fractional requests (0.25 + 0.5 + 0.25) must compare exactly against whole totals.
    public const double Epsilon = 1e-9;

    private double _gpusUsed;
    private int _wholeFree = node.Resources.GpuCount;

    public NodeInfo Node => node;

    public double CpusUsed { get; private set; }

    public long MemoryUsed { get; private set; }

    public double[] DeviceUsed { get; } = new double[node.Resources.GpuCount];

    public double[] PeakDeviceUsed { get; } = new double[node.Resources.GpuCount];

    public DeviceMemoryBook DeviceMemory { get; } = new(node.Resources.GpuCount, node.Resources.GpuMemoryBytes);

    public double FreeCpus => node.Resources.Cpus - CpusUsed;

    /// <summary>The GPUs' allocated shares, summed.</summary>
    public double GpusUsed => _gpusUsed;

    public double FreeGpus => node.Resources.Gpus - _gpusUsed;

    /// <summary>Devices with nothing allocated.</summary>
    public int WholeFree => _wholeFree;

    public bool Fits(ResourceRequest r)
    {
        if (CpusUsed + r.Cpus > node.Resources.Cpus + Epsilon || MemoryUsed + r.MemoryBytes > node.Resources.MemoryBytes) return false;
        if (r.Gpus <= 0) return true;
        // Whole devices are counted (O(1)); a device-memory need is checked device by device.
        if (r.Gpus >= 1 && r.DeviceMemoryBytes <= 0) return _wholeFree >= (int)Math.Round(r.Gpus);
        return PickDevices(r) is not null;
    }

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
            Add(d, share);
            PeakDeviceUsed[d] = Math.Max(PeakDeviceUsed[d], DeviceUsed[d]);
        }
        return new ResourceGrant(r, devices, node.Id);
    }

    public void Release(ResourceGrant grant)
    {
        CpusUsed -= grant.Request.Cpus;
        MemoryUsed -= grant.Request.MemoryBytes;
        var share = Share(grant.Request);
        foreach (var d in grant.GpuIds) Add(d, -Math.Min(share, DeviceUsed[d]));
        DeviceMemory.Remove(grant.GpuIds, grant.Request.DeviceMemoryBytes);
    }

    private void Add(int device, double share)
    {
        var wasFree = DeviceUsed[device] <= Epsilon;
        DeviceUsed[device] += share;
        _gpusUsed += share;
        var isFree = DeviceUsed[device] <= Epsilon;
        if (wasFree != isFree) _wholeFree += isFree ? 1 : -1;
    }

    private static double Share(ResourceRequest r) => r.Gpus >= 1 ? 1.0 : r.Gpus;

    private int[]? PickDevices(ResourceRequest r)
    {
        var gpus = r.Gpus;
        if (gpus <= 0) return [];
        if (gpus >= 1)
        {
            var whole = (int)Math.Round(gpus);
            if (_wholeFree < whole) return null;
            var free = new int[whole];
            var found = 0;
            for (var d = 0; d < DeviceUsed.Length && found < whole; d++)
            {
                if (DeviceUsed[d] <= Epsilon && DeviceMemory.Fits(d, r.DeviceMemoryBytes)) free[found++] = d;
            }
            return found == whole ? free : null;
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
