namespace Sluice.Contracts;

/// <summary>
/// Ends waits at their deadline with sub-millisecond error, which a timer cannot: .NET timers fire on the
/// kernel's coarse tick (4 ms on a 250 Hz kernel, measured here: a 1 ms <c>Task.Delay</c> took 3.96 ms), so a
/// simulated device held by a timer alone is held up to 4x longer than asked for short batches.
/// </summary>
/// <remarks>
/// One background thread serves every waiter in the process: callers sleep on an ordinary timer until
/// <see cref="SimulatedDevices.TimerSlack"/> before their deadline and hand the rest here. On Linux the thread
/// sleeps with <c>usleep</c> (an hrtimer: ~50–100 µs late) in steps of at most <see cref="MaxStep"/>, so a waiter
/// that arrives with a nearer deadline is seen in time, and only the last <see cref="SpinWithin"/> before a deadline
/// is spent yielding between clock reads: the thread costs a few percent of a core however many devices wait.
/// Elsewhere it sleeps 1 ms at a time and yields in the last 1.5 ms. Thread-pool threads are never blocked. Each
/// waiter carries its own clock, so a fake <see cref="TimeProvider"/> drives it in tests.
/// </remarks>
internal sealed class FinalStretch
{
    /// <summary>
    /// Closer to a deadline than this, the thread yields instead of sleeping: a sleep's own lateness (~60 µs for
    /// usleep, ~50–100 µs beyond the whole millisecond for Thread.Sleep(1)) would overshoot.
    /// </summary>
    private static readonly TimeSpan SpinWithin = PreciseSleep.Available ? TimeSpan.FromMilliseconds(0.1) : TimeSpan.FromMilliseconds(1.5);

    /// <summary>The longest precise sleep: a new waiter's deadline may be nearer than the one slept for.</summary>
    private static readonly TimeSpan MaxStep = TimeSpan.FromMilliseconds(0.2);

    public static FinalStretch Shared { get; } = new();

    private readonly object _gate = new();
    private readonly List<Waiter> _waiters = [];
    private Thread? _thread;

    /// <summary>Completes once <paramref name="time"/> reads <paramref name="deadline"/> or later.</summary>
    public Task UntilAsync(TimeProvider time, long deadline, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (now >= deadline) return Task.CompletedTask;
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new Waiter(time, deadline);
        if (cancellationToken.CanBeCanceled)
            waiter.Registration = cancellationToken.Register(static (w, ct) => ((Waiter)w!).Done.TrySetCanceled(ct), waiter);
        lock (_gate)
        {
            _waiters.Add(waiter);
            if (_thread is null)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = "Sluice simulated-time final stretch" };
                _thread.Start();
            }
            Monitor.Pulse(_gate);
        }
        return waiter.Done.Task;
    }

    private void Run()
    {
        var due = new List<Waiter>();
        while (true)
        {
            var nearest = TimeSpan.MaxValue;
            lock (_gate)
            {
                while (_waiters.Count == 0) Monitor.Wait(_gate);
                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    var w = _waiters[i];
                    var now = w.Time.GetTimestamp();
                    if (now >= w.Deadline || w.Done.Task.IsCompleted)
                    {
                        due.Add(w);
                        _waiters.RemoveAt(i);
                        continue;
                    }
                    var left = w.Time.GetElapsedTime(now, w.Deadline);
                    if (left < nearest) nearest = left;
                }
            }
            // Completed outside the lock: continuations run asynchronously anyway, and disposing a registration
            // waits for a running cancel callback, which must not wait behind this lock.
            foreach (var w in due)
            {
                w.Done.TrySetResult();
                w.Registration.Dispose();
            }
            due.Clear();
            if (nearest == TimeSpan.MaxValue) continue;
            if (nearest <= SpinWithin)
            {
                if (!Thread.Yield()) Thread.SpinWait(20);
            }
            else if (PreciseSleep.Available)
            {
                PreciseSleep.For(nearest - SpinWithin < MaxStep ? nearest - SpinWithin : MaxStep);
            }
            else
            {
                Thread.Sleep(1);
            }
        }
    }

    private sealed class Waiter(TimeProvider time, long deadline)
    {
        public TimeProvider Time { get; } = time;

        public long Deadline { get; } = deadline;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }
}
