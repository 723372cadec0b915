using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>
/// Holds the node's cpus, gpus and memory and never hands out more than the node has. GPUs are
/// devices: a request of 1, 2, … takes that many whole free devices; a fraction takes a share of
/// one device, packed onto the fullest device it fits so whole devices stay free for whole requests.
/// </summary>
internal sealed class ResourceManager
{
    // Sums of fractional requests (0.25 + 0.5 + 0.25) must compare exactly against whole totals.
    private const double Epsilon = 1e-9;
    private readonly double[] _deviceUsed;
    private readonly double[] _peakDeviceUsed;

    public ResourceManager(NodeResources node)
    {
        Node = node;
        _deviceUsed = new double[node.GpuCount];
        _peakDeviceUsed = new double[node.GpuCount];
    }

    public NodeResources Node { get; }

    public double CpusUsed { get; private set; }

    public double GpusUsed => _deviceUsed.Sum();

    public long MemoryUsed { get; private set; }

    public IReadOnlyList<double> DeviceUse => _deviceUsed;

    /// <summary>The most each device was ever allocated (a check that nothing over-commits).</summary>
    public IReadOnlyList<double> PeakDeviceUse => _peakDeviceUsed;

    public double PeakCpusUsed { get; private set; }

    public bool Fits(ResourceRequest r) => CpusUsed + r.Cpus <= Node.Cpus + Epsilon && MemoryUsed + r.MemoryBytes <= Node.MemoryBytes && PickDevices(r.Gpus) is not null;

    public ResourceGrant? TryAcquire(ResourceRequest r)
    {
        if (CpusUsed + r.Cpus > Node.Cpus + Epsilon || MemoryUsed + r.MemoryBytes > Node.MemoryBytes) return null;
        var devices = PickDevices(r.Gpus);
        if (devices is null) return null;
        CpusUsed += r.Cpus;
        MemoryUsed += r.MemoryBytes;
        var share = r.Gpus >= 1 ? 1.0 : r.Gpus;
        foreach (var d in devices)
        {
            _deviceUsed[d] += share;
            _peakDeviceUsed[d] = Math.Max(_peakDeviceUsed[d], _deviceUsed[d]);
        }
        PeakCpusUsed = Math.Max(PeakCpusUsed, CpusUsed);
        return new ResourceGrant(r, devices);
    }

    public void Release(ResourceGrant grant)
    {
        CpusUsed -= grant.Request.Cpus;
        MemoryUsed -= grant.Request.MemoryBytes;
        var share = grant.Request.Gpus >= 1 ? 1.0 : grant.Request.Gpus;
        foreach (var d in grant.GpuIds) _deviceUsed[d] = Math.Max(0, _deviceUsed[d] - share);
    }

    private int[]? PickDevices(double gpus)
    {
        if (gpus <= 0) return [];
        if (gpus >= 1)
        {
            var whole = (int)Math.Round(gpus);
            var free = Enumerable.Range(0, _deviceUsed.Length).Where(d => _deviceUsed[d] <= Epsilon).Take(whole).ToArray();
            return free.Length == whole ? free : null;
        }
        var best = -1;
        for (var d = 0; d < _deviceUsed.Length; d++)
        {
            if (_deviceUsed[d] + gpus > 1 + Epsilon) continue;
            if (best < 0 || _deviceUsed[d] > _deviceUsed[best]) best = d;
        }
        return best < 0 ? null : [best];
    }

    public string Describe() =>
        $"cpus {CpusUsed:0.##}/{Node.Cpus:0.##}, gpus {GpusUsed:0.##}/{Node.Gpus:0.##}{(Node.GpusSimulated ? " (simulated)" : "")}";
}
