using System.Diagnostics;
using Sluice.Execution.Operators;
using Sluice.Execution.Pools;

namespace Sluice.Execution;

/// <summary>The loop's turns: one at a time, so tests can step it (<see cref="StepAsync"/>) on a fake clock.</summary>
internal sealed partial class StreamingExecutor
{
    private ITimer? _tick;
    private long _turns;
    private long _loopBusyTicks;

    /// <summary>
    /// How often the running loop balances, scales and publishes: work that grows with the number of actors, done at
    /// a bounded rate rather than on every turn (a turn may handle a single task's end). Real time: it bounds CPU cost.
    /// </summary>
    private static readonly TimeSpan Cadence = TimeSpan.FromMilliseconds(20);

    private static readonly long CadenceTicks = (long)(Cadence.TotalSeconds * Stopwatch.Frequency);

    private long _lastScaled;
    private long _lastPublished;
    private bool _wakePending;
    private ITimer? _wake;

    private async Task LoopAsync(CancellationToken ct)
    {
        while (await TurnAsync(everyTurn: false, ct).ConfigureAwait(false))
        {
        }
    }

    /// <summary>
    /// The test seam: one turn that balances, scales and publishes whatever the time, so a test reads the state the
    /// turn left from <see cref="Snapshot"/>.
    /// </summary>
    internal ValueTask<bool> StepAsync(CancellationToken ct) => TurnAsync(everyTurn: true, ct);

    /// <summary>A turn that left balancing, scaling or publishing for later comes back for it within the cadence, events or not.</summary>
    private void WakeWithinCadence(ExecutorContext ctx, long now)
    {
        // Armed until its callback runs; the callback clears the flag before it posts, so a wake that fires early
        // (timers and the stopwatch are different clocks) is followed by a turn that arms it again.
        if (Volatile.Read(ref _wakePending)) return;
        Volatile.Write(ref _wakePending, true);
        _wake ??= TimeProvider.System.CreateTimer(_ =>
        {
            Volatile.Write(ref _wakePending, false);
            ctx.Post(new ExecutorEvent.Tick());
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var due = Math.Min(_lastScaled, _lastPublished) + CadenceTicks - now;
        _wake.Change(TimeSpan.FromMilliseconds(Math.Max(1, due * 1000.0 / Stopwatch.Frequency)), Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Idle actors must be noticed even when no event arrives: a tick wakes the loop. On the options' clock, so a
    /// test on a fake clock wakes it by advancing time.
    /// </summary>
    private void StartTicking(ExecutorContext ctx)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.ActorIdleTimeout.TotalMilliseconds / 4, 10, 500));
        _tick = _options.TimeProvider.CreateTimer(_ => ctx.Post(new ExecutorEvent.Tick()), null, period, period);
    }

    /// <summary>
    /// One turn: wait for what workers report and handle all of it (the first turn has nothing to wait for), then
    /// dispatch (downstream first: drain before you fill), balance the pools, scale and publish. Nothing in a turn
    /// blocks: fetches, writes and marks run on tasks that report back as events. When a turn returns, the
    /// snapshot shows the state it left.
    /// </summary>
    /// <param name="everyTurn">Balance, scale and publish in this turn whatever the time (<see cref="StepAsync"/>); else at most once per <see cref="Cadence"/>, and always publish the last turn.</param>
    /// <returns>False once the job is done.</returns>
    private async ValueTask<bool> TurnAsync(bool everyTurn, CancellationToken ct)
    {
        var ctx = _ctx!;
        var first = _turns++ == 0;
        if (!first) await ctx.Events.WaitToReadAsync(ct).ConfigureAwait(false);
        // The loop's own cost: from the wake-up to the published snapshot, waits excluded.
        var began = Stopwatch.GetTimestamp();
        if (!first)
        {
            while (ctx.Events.TryRead(out var e)) Handle(e);
            AssertInvariants();
        }
        for (var i = _ops.Count - 1; i >= 0; i--) _ops[i].Dispatch(ctx);
        var scale = everyTurn || began - _lastScaled >= CadenceTicks || _pools.Exists(p => p.ScaleSoon);
        if (scale) BalanceAndScale(ctx, began);
        PropagateDone();
        var done = AllDone();
        if (done && !scale)
        {
            // The last turn releases what the input's end leaves idle, as every turn used to.
            BalanceAndScale(ctx, began);
            scale = true;
        }
        var publish = everyTurn || done || began - _lastPublished >= CadenceTicks;
        if (publish)
        {
            Publish();
            _lastPublished = began;
        }
        if (!scale || !publish) WakeWithinCadence(ctx, began);
        _loopBusyTicks += Stopwatch.GetTimestamp() - began;
        AssertInvariants();
        return !done;
    }

    private void BalanceAndScale(ExecutorContext ctx, long now)
    {
        CheckProgress();
        Speculate();
        Balance(ctx);
        foreach (var op in _ops) op.Scale(ctx);
        _lastScaled = now;
    }

    /// <summary>The balancer decides from values; each pool applies its own decision.</summary>
    private void Balance(ExecutorContext ctx)
    {
        var decisions = PoolBalancer.Decide([.. _pools.Select(p => p.View(ctx))], ctx.Resources.TotalGpus, ctx.Resources.TotalCpus);
        for (var i = 0; i < _pools.Count; i++) _pools[i].Apply(decisions[i]);
    }

    /// <summary>
    /// What must hold between turns; checked in Debug builds after each one. A broken invariant fails the job
    /// with what broke (a thrown exception, not Debug.Assert, which would kill a test host).
    /// </summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        var ctx = _ctx!;
        var broken = new List<string>();
        long used = 0;
        foreach (var op in _ops)
        {
            if (op.SumQueuedBytes() != op.QueuedBytes) broken.Add($"stage '{op.Name}': queued bytes {op.QueuedBytes} but its queue holds {op.SumQueuedBytes()}");
            if (op.Running < 0) broken.Add($"stage '{op.Name}': {op.Running} tasks running");
            if (ctx.Budget.UsedBy(op.Index) < 0) broken.Add($"stage '{op.Name}': {ctx.Budget.UsedBy(op.Index)} bytes charged");
            used += ctx.Budget.UsedBy(op.Index);
            if (op is SinkOperator { InputAfterFlush: true }) broken.Add($"stage '{op.Name}': {op.QueuedBlocks} block(s) to write after the output was flushed");
            if (op is ActorPoolOperator pool)
            {
                var (inFlight, most) = pool.SumInFlight();
                if (inFlight != op.Running || pool.PoolInFlight != op.Running)
                    broken.Add($"stage '{op.Name}': {op.Running} tasks running but its actors hold {inFlight} (the pool counts {pool.PoolInFlight})");
                if (most > pool.Options.MaxConcurrency) broken.Add($"stage '{op.Name}': an actor holds {most} tasks, max_concurrency {pool.Options.MaxConcurrency}");
                foreach (var wrong in pool.Pool.Check()) broken.Add($"stage '{op.Name}': {wrong}");
            }
        }
        if (used != ctx.Budget.UsedBytes) broken.Add($"budget: {ctx.Budget.UsedBytes} bytes used but the stages were charged {used}");
        broken.AddRange(ctx.Resources.OverCommitted());
        if (broken.Count > 0) throw new InvalidOperationException("executor invariants broken after a turn: " + string.Join("; ", broken));
    }
}
