using System.Globalization;
using Sluice.Execution.Operators;

namespace Sluice.Execution;

/// <summary>
/// Stalls and time limits: the loop notes each event that moves the job on (a block read, a task finished, a block
/// committed, an actor started). After <see cref="ExecutionOptions.StallNotice"/> without one, the snapshot and the log
/// say what each unfinished stage waits on; past <see cref="ExecutionOptions.NoProgressTimeout"/> or
/// <see cref="ExecutionOptions.Timeout"/> the job stops with that diagnosis — as any failure does: committed output stays,
/// the open part is committed or removed, and <c>--resume</c> continues it.
/// </summary>
internal sealed partial class StreamingExecutor
{
    private long _lastProgressTicks;
    private string? _stall;

    private void Progressed()
    {
        _lastProgressTicks = _ctx!.NowTicks;
        _stall = null;
    }

    /// <summary>At the loop's cadence (and on every stepped turn): the stall notice, and the limits.</summary>
    private void CheckProgress()
    {
        var ctx = _ctx!;
        var idle = ctx.Since(_lastProgressTicks);
        if (_options.Timeout is { } limit && ctx.Since(_startTicks) >= limit)
            throw new SluiceException($"the job ran past execution.timeout ({Seconds(limit)}) and was stopped; then: {Diagnose()}; committed output stays: rerun with --resume to continue, or raise the timeout");
        if (_options.NoProgressTimeout is { } most && idle >= most)
            throw new SluiceException($"no progress for {Seconds(idle)} (execution.no_progress_timeout {Seconds(most)}): {Diagnose()}; the job was stopped, committed output stays: fix the cause and rerun with --resume");
        if (idle < _options.StallNotice)
        {
            _stall = null;
            return;
        }
        var first = _stall is null;
        _stall = $"no progress for {Seconds(idle)}: {Diagnose()}";
        if (first) Log.Stalled(ctx.Logger, _stall);
    }

    /// <summary>What each unfinished stage waits on, from the loop's own state.</summary>
    private string Diagnose()
    {
        var ctx = _ctx!;
        var parts = new List<string>();
        foreach (var op in _ops)
        {
            if (op.IsDone) continue;
            var s = op.Snapshot(ctx);
            if (op is ActorPoolOperator pool)
            {
                if (s.ActorsReady == 0 && s.ActorsStarting > 0)
                    parts.Add($"stage '{op.Name}': {s.ActorsStarting} actor(s) still starting (loading the processor) and none ready");
                else if (s.ActorsReady == 0 && s.ActorsStarting == 0 && (pool.Unmet > 0 || !ctx.Resources.Fits(pool.Pool.Resources)))
                    parts.Add($"stage '{op.Name}': no actor — each needs {pool.Pool.Resources}, which no node has free ({ctx.Resources.Describe()})");
            }
            if (op is SourceOperator source)
            {
                if (source.ActiveReads > 0) parts.Add($"stage '{op.Name}': {source.ActiveReads} read task(s) open{(s.BackPressure is { } why ? $", held back: {why}" : ", reading (a slow or stuck input?)")}");
                continue;
            }
            if (op.Running > 0)
                parts.Add($"stage '{op.Name}': {op.Running} task(s) running, none finished (a node not answering, or a batch that does not end)");
            else if (op.QueuedBlocks > 0)
                parts.Add($"stage '{op.Name}': {op.QueuedBlocks} block(s) waiting, not dispatched: {s.BackPressure ?? "no reason recorded"}");
        }
        return parts.Count == 0 ? "every stage waits for input" : string.Join("; ", parts);
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
