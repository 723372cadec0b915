using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>
/// One node's GPU memory, device by device: the summed <see cref="ResourceRequest.DeviceMemoryBytes"/> of the actors
/// placed on each. A device whose memory is unknown (<see cref="NodeResources.GpuMemoryBytes"/> 0) takes any need.
/// Two 0.5-gpu actors each needing 60% of a device fit its compute share but not its memory: the second goes to
/// another device, another node, or waits.
/// </summary>
internal sealed class DeviceMemoryBook(int devices, long deviceBytes)
{
    private readonly long[] _used = new long[devices];

    public long DeviceBytes => deviceBytes;

    /// <summary>Bytes held on each device now.</summary>
    public IReadOnlyList<long> Used => _used;

    public bool Fits(int device, long bytes) => bytes <= 0 || deviceBytes <= 0 || _used[device] + bytes <= deviceBytes;

    public void Add(IReadOnlyList<int> gpuIds, long bytes)
    {
        foreach (var d in gpuIds) _used[d] += bytes;
    }

    public void Remove(IReadOnlyList<int> gpuIds, long bytes)
    {
        foreach (var d in gpuIds) _used[d] = Math.Max(0, _used[d] - bytes);
    }

    /// <summary>Devices holding more than they have (none, unless the books are wrong).</summary>
    public IEnumerable<int> OverCommitted() =>
        deviceBytes <= 0 ? [] : Enumerable.Range(0, _used.Length).Where(d => _used[d] > deviceBytes);
}
