namespace Sluice.Execution.Pools;

/// <summary>
/// The durations of a pool's latest finished tasks (dispatch to result, in timestamp ticks), and their median: what
/// "typical" means when the loop looks for stragglers. A window, not the whole job: a pool's cost moves (longer inputs,
/// a second task queued on each actor once the input backs up), and the threshold follows it.
/// </summary>
internal sealed class TaskDurations
{
    /// <summary>64 tasks: enough that one slow batch in twenty barely moves the median, few enough to follow a change within a minute.</summary>
    private const int Window = 64;

    private readonly long[] _ticks = new long[Window];
    private readonly long[] _sorted = new long[Window];
    private int _next;
    private long? _median;

    /// <summary>Tasks recorded so far (all of them, not just the window's).</summary>
    public long Count { get; private set; }

    public void Add(long ticks)
    {
        _ticks[_next] = ticks;
        _next = (_next + 1) % Window;
        Count++;
        _median = null;
    }

    /// <summary>The median of the window, in ticks; null before any task finished. Sorted only when asked after a change.</summary>
    public long? Median()
    {
        if (Count == 0) return null;
        if (_median is { } m) return m;
        var n = (int)Math.Min(Count, Window);
        Array.Copy(_ticks, _sorted, n);
        Array.Sort(_sorted, 0, n);
        _median = _sorted[n / 2];
        return _median;
    }
}
