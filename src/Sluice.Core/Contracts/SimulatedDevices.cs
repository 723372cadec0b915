namespace Sluice.Contracts;

/// <summary>
/// Accelerators that exist only in time: a batch holds its device exclusively for a known duration,
/// so GPU scheduling, elasticity and utilization can be measured on CPUs (DESIGN.md §7). Busy time is
/// counted per device; utilization is busy time over wall time.
/// </summary>
public sealed class SimulatedDevices
{
    private readonly SemaphoreSlim[] _locks;
    private readonly long[] _busyTicks;
    private readonly TimeProvider _time;

    public SimulatedDevices(int count, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _time = time ?? TimeProvider.System;
        _locks = Enumerable.Range(0, count).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        _busyTicks = new long[count];
        StartTicks = _time.GetTimestamp();
    }

    public int Count => _locks.Length;

    public long StartTicks { get; }

    /// <summary>Holds <paramref name="device"/> alone for <paramref name="duration"/> (waiting first if another batch holds it).</summary>
    public async ValueTask RunAsync(int device, TimeSpan duration, CancellationToken cancellationToken)
    {
        if ((uint)device >= (uint)_locks.Length)
            throw new ArgumentOutOfRangeException(nameof(device), $"device {device} does not exist; the node has {_locks.Length} simulated GPUs");
        await _locks[device].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var start = _time.GetTimestamp();
            await Task.Delay(duration, _time, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _busyTicks[device], _time.GetTimestamp() - start);
        }
        finally
        {
            _locks[device].Release();
        }
    }

    /// <summary>
    /// Holds <paramref name="devices"/> alone while <paramref name="work"/> runs (real work standing in for theirs:
    /// a model run on the CPU), waiting first for any another batch holds; taken in ascending order, so two holders
    /// of overlapping sets cannot deadlock. The time counts as each device's busy time.
    /// </summary>
    public async ValueTask<T> HoldAsync<T>(IReadOnlyList<int> devices, Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(work);
        var order = devices.Distinct().Order().ToArray();
        foreach (var d in order)
        {
            if ((uint)d >= (uint)_locks.Length)
                throw new ArgumentOutOfRangeException(nameof(devices), $"device {d} does not exist; the node has {_locks.Length} simulated GPUs");
        }
        var held = 0;
        try
        {
            for (; held < order.Length; held++) await _locks[order[held]].WaitAsync(cancellationToken).ConfigureAwait(false);
            var start = _time.GetTimestamp();
            try
            {
                return work();
            }
            finally
            {
                var busy = _time.GetTimestamp() - start;
                foreach (var d in order) Interlocked.Add(ref _busyTicks[d], busy);
            }
        }
        finally
        {
            for (var i = held - 1; i >= 0; i--) _locks[order[i]].Release();
        }
    }

    /// <summary>Time each device has been busy so far.</summary>
    public TimeSpan[] BusyTimes() =>
        Enumerable.Range(0, _busyTicks.Length).Select(i => TimeSpan.FromSeconds(Interlocked.Read(ref _busyTicks[i]) / (double)_time.TimestampFrequency)).ToArray();

    /// <summary>Busy time over wall time since creation, per device.</summary>
    public double[] Utilization()
    {
        var wall = _time.GetElapsedTime(StartTicks).TotalSeconds;
        return BusyTimes().Select(b => wall > 0 ? Math.Min(1, b.TotalSeconds / wall) : 0).ToArray();
    }
}
