namespace Sluice.Contracts;

/// <summary>
/// Accelerators that exist only in time: a batch holds its device exclusively for a known duration,
/// so GPU scheduling, elasticity and utilization can be measured on CPUs (DESIGN.md §7). Per device it counts
/// the time asked for and the time really held (busy); utilization is either over wall time. The two differ by
/// how late the clock let a hold end — sub-millisecond normally, more on an overloaded machine — and both are
/// reported so an overshoot is never counted as work.
/// </summary>
public sealed class SimulatedDevices
{
    private readonly SemaphoreSlim[] _locks;
    private readonly long[] _busyTicks;
    private readonly long[] _askedTicks;
    private readonly long[] _owedTicks;
    private readonly TimeProvider _time;

    public SimulatedDevices(int count, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _time = time ?? TimeProvider.System;
        _locks = Enumerable.Range(0, count).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        _busyTicks = new long[count];
        _askedTicks = new long[count];
        _owedTicks = new long[count];
        StartTicks = _time.GetTimestamp();
    }

    public int Count => _locks.Length;

    public long StartTicks { get; }

    /// <summary>
    /// How long before a hold's end the timer hands over to a precise final wait. .NET timers fire on the kernel's
    /// coarse tick (4 ms at 250 Hz, 10 ms at 100 Hz), so the default covers a 250 Hz kernel with a margin for a
    /// busy thread pool; a timer found later than this raises it (up to 50 ms) for later holds.
    /// </summary>
    public TimeSpan TimerSlack
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _slackTicks));
        init => _slackTicks = value >= TimeSpan.Zero ? value.Ticks : throw new ArgumentOutOfRangeException(nameof(value), value, "give zero or more");
    }

    private long _slackTicks = TimeSpan.FromMilliseconds(5).Ticks;

    /// <summary>
    /// Holds <paramref name="device"/> alone for <paramref name="duration"/> (waiting first if another batch holds it):
    /// a timer for all but the last <see cref="TimerSlack"/>, then a precise wait that ends at the deadline.
    /// </summary>
    /// <remarks>
    /// What the clock held a device beyond what was asked (a late timer, a thread pool slow to resume the caller on a
    /// loaded machine) is owed back: the device's next hold ends that much earlier, by at most half of what it asks.
    /// So a device's held time tracks its asked time over a job (a real device does not run slower because the host's
    /// timers are coarse), while one hold's error stays what it was; both are still counted and reported.
    /// </remarks>
    public async ValueTask RunAsync(int device, TimeSpan duration, CancellationToken cancellationToken)
    {
        if ((uint)device >= (uint)_locks.Length)
            throw new ArgumentOutOfRangeException(nameof(device), $"device {device} does not exist; the node has {_locks.Length} simulated GPUs");
        await _locks[device].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var start = _time.GetTimestamp();
            var asked = (long)(duration.TotalSeconds * _time.TimestampFrequency);
            // Under the device's lock: only this hold reads and settles what the device owes.
            var giveBack = Math.Min(_owedTicks[device], asked / 2);
            var deadline = start + asked - giveBack;
            var hold = TimeSpan.FromSeconds((asked - giveBack) / (double)_time.TimestampFrequency);
            var slack = TimerSlack;
            if (hold > slack)
            {
                var timerEnd = deadline - (long)(slack.TotalSeconds * _time.TimestampFrequency);
                await Task.Delay(hold - slack, _time, cancellationToken).ConfigureAwait(false);
                LearnSlack(_time.GetElapsedTime(timerEnd));
            }
            await FinalStretch.Shared.UntilAsync(_time, deadline, cancellationToken).ConfigureAwait(false);
            // Read when the caller resumes, not when the deadline was seen: the device stays locked until here, so
            // the thread pool's delay in resuming the caller is held time too.
            var held = _time.GetTimestamp() - start;
            Interlocked.Add(ref _busyTicks[device], held);
            Interlocked.Add(ref _askedTicks[device], asked);
            _owedTicks[device] = Math.Max(0, _owedTicks[device] + held - asked);
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
                foreach (var d in order)
                {
                    Interlocked.Add(ref _busyTicks[d], busy);
                    Interlocked.Add(ref _askedTicks[d], busy);
                }
            }
        }
        finally
        {
            for (var i = held - 1; i >= 0; i--) _locks[order[i]].Release();
        }
    }

    /// <summary>
    /// A timer that fired later than the slack allows would make the hold late: the next holds start their final
    /// wait earlier (the overshoot plus 1 ms). Capped at 50 ms: a stall of the whole machine is not the timer's lateness,
    /// and the final wait, though cheap (it sleeps), polls every waiter it holds.
    /// </summary>
    private void LearnSlack(TimeSpan late)
    {
        var wanted = Math.Min((late + TimeSpan.FromMilliseconds(1)).Ticks, TimeSpan.FromMilliseconds(50).Ticks);
        var seen = Interlocked.Read(ref _slackTicks);
        while (wanted > seen)
        {
            var was = Interlocked.CompareExchange(ref _slackTicks, wanted, seen);
            if (was == seen) return;
            seen = was;
        }
    }

    /// <summary>Time each device has been held so far (a simulated batch's real hold, or real work standing in for one).</summary>
    public TimeSpan[] BusyTimes() => Times(_busyTicks);

    /// <summary>
    /// Time each device has been asked to be held so far: simulated batches' durations, plus real work's time (which
    /// is what it asked). <see cref="BusyTimes"/> minus this is the clock's overshoot.
    /// </summary>
    public TimeSpan[] AskedTimes() => Times(_askedTicks);

    /// <summary>Busy (held) time over wall time since creation, per device.</summary>
    public double[] Utilization() => OverWall(BusyTimes());

    /// <summary>Asked time over wall time since creation, per device: the utilization the job really asked for.</summary>
    public double[] AskedUtilization() => OverWall(AskedTimes());

    private TimeSpan[] Times(long[] ticks) =>
        Enumerable.Range(0, ticks.Length).Select(i => TimeSpan.FromSeconds(Interlocked.Read(ref ticks[i]) / (double)_time.TimestampFrequency)).ToArray();

    private double[] OverWall(TimeSpan[] times)
    {
        var wall = _time.GetElapsedTime(StartTicks).TotalSeconds;
        return times.Select(b => wall > 0 ? Math.Min(1, b.TotalSeconds / wall) : 0).ToArray();
    }
}
