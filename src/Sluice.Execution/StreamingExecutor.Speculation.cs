using Sluice.Contracts;
using Sluice.Execution.Operators;
using Sluice.Execution.Pools;

namespace Sluice.Execution;

/// <summary>
/// Speculative execution (<see cref="SpeculationOptions"/>): at the loop's cadence, nodes whose tasks all straggle are
/// suspected (their actors retired and replaced), and straggling tasks get a backup copy on an idle actor. When a copy
/// ends, <see cref="DiscardCopy"/> decides what its end means: the first success wins and goes on as any task's result
/// (exactly once: the other copy's outputs are freed, never produced), and the inputs are released only when both
/// copies have ended (<see cref="ReleaseInputs"/>), so a cancelled copy never reads a freed block.
/// </summary>
internal sealed partial class StreamingExecutor
{
    private readonly NodeSuspicion _suspicion = new();

    /// <summary>Why each suspected node is, for the snapshot.</summary>
    private readonly Dictionary<string, string> _suspectedWhy = new(StringComparer.Ordinal);

    /// <summary>
    /// How often the running tasks are looked over: a straggler is one past at least <see cref="SpeculationOptions.Floor"/>
    /// (2 s by default), so a look every eighth of that (at most 250 ms) finds it soon enough, and a loop driving a
    /// thousand actors does not walk every task in flight at each 20 ms cadence.
    /// </summary>
    private long SpeculateEveryTicks => (long)(Math.Min(0.25, _options.Speculation.Floor.TotalSeconds / 8) * _options.TimeProvider.TimestampFrequency);

    private long? _lastSpeculated;

    private void Speculate()
    {
        if (!_options.Speculation.Enabled) return;
        var ctx = _ctx!;
        if (_lastSpeculated is { } looked && ctx.NowTicks - looked < SpeculateEveryTicks) return;
        _lastSpeculated = ctx.NowTicks;
        // Until some pool has finished enough tasks to judge, nothing straggles: no work at the loop's cadence.
        var thresholds = new long?[_pools.Count];
        var any = false;
        for (var i = 0; i < _pools.Count; i++)
        {
            thresholds[i] = _pools[i].Running > 0 ? _pools[i].ThresholdTicks(ctx) : null;
            any |= thresholds[i] is not null;
        }
        if (!any) return;
        var now = ctx.NowTicks;
        var frequency = (double)_options.TimeProvider.TimestampFrequency;
        // Per node: tasks running there, whether every one is past its pool's threshold, and the largest threshold.
        var nodes = new Dictionary<string, (int Running, bool AllStraggle, long Threshold)>(StringComparer.Ordinal);
        var stragglers = new List<(ActorPoolOperator Pool, RunningTask Task, long Age)>();
        for (var i = 0; i < _pools.Count; i++)
        {
            var pool = _pools[i];
            var threshold = thresholds[i];
            foreach (var task in pool.RunningTasks)
            {
                var node = task.Actor!.Grant.Node;
                var age = now - task.StartedTicks;
                var straggles = threshold is { } t && age >= t;
                var (running, all, most) = nodes.GetValueOrDefault(node, (0, true, 0));
                nodes[node] = (running + 1, all && straggles, Math.Max(most, threshold ?? 0));
                if (straggles && task.Copies is null) stragglers.Add((pool, task, age));
            }
        }
        foreach (var (node, (running, all, threshold)) in nodes)
        {
            // This process's node runs the loop: it is alive, and a slow task there is a straggler, not a stuck node.
            if (!all || node == _runtime.NodeId || _suspicion.IsSuspected(node)) continue;
            if (_suspicion.LastFinished(node) is { } last && now - last < threshold) continue;
            var quiet = _suspicion.LastFinished(node) is { } l ? (now - l) / frequency : threshold / frequency;
            _suspicion.Suspect(node);
            var why = $"node {node} suspected: no task finished for {quiet:0.#} s";
            _suspectedWhy[node] = why;
            Log.NodeSuspected(ctx.Logger, node, quiet, running);
            if (node != _runtime.NodeId) ctx.Resources.Suspect(node);
            foreach (var pool in _pools) pool.Retire(ctx, node, why);
        }
        // Oldest first: the task that holds the job up longest gets the first idle actor.
        foreach (var (pool, task, age) in stragglers.OrderByDescending(s => s.Age))
            pool.TryBackup(ctx, task, TimeSpan.FromSeconds(age / frequency));
    }

    /// <summary>
    /// A copy of a speculated task ended. True when its end is done with here: it lost (its outputs freed), or it failed
    /// while the other copy still runs. False when the usual handling goes on: it won (its outputs go on), or both
    /// copies failed (the task is retried, recovered or reported as any task).
    /// </summary>
    private bool DiscardCopy(OperatorState op, ExecutorEvent.TaskEnded e)
    {
        if (e.Task.Copies is not { } copies) return false;
        var ctx = _ctx!;
        copies.Ended++;
        var other = copies.Other(e.Task);
        if (copies.Winner is not null)
        {
            foreach (var output in e.Outputs ?? []) FreeBlock(output);
            NoteLost(op, e);
            ReleaseInputs(op, e.Task);
            return true;
        }
        if (e.Error is null)
        {
            copies.Winner = e.Task;
            if (copies.Ended < 2) other.Cancel?.Cancel();
            var backupWon = ReferenceEquals(e.Task, copies.Backup);
            if (backupWon) ((ActorPoolOperator)op).RecordBackupWon();
            var rows = e.Task.Describe();
            Log.CopyWon(ctx.Logger, op.Name, rows, backupWon ? "backup" : "original");
            return false;
        }
        if (copies.Ended == 2 || IsShutdown(e.Error)) return false;
        var described = e.Task.Describe();
        Log.CopyDropped(ctx.Logger, op.Name, described, e.Error.Message);
        NoteLost(op, e);
        return true;
    }

    /// <summary>A discarded copy's actor lost with its node: the pool replaces it (its task needs nothing: the other copy has it).</summary>
    private void NoteLost(OperatorState op, ExecutorEvent.TaskEnded e)
    {
        if (e.Error is not ActorLostException || e.Task.Actor is not { } actor) return;
        ((ActorPoolOperator)op).OnActorLost(_ctx!, actor);
        SyncNodes();
    }

    /// <summary>A task's inputs leave the budget and the store once it is done — for a speculated task, once both its copies have ended.</summary>
    private void ReleaseInputs(OperatorState op, RunningTask task)
    {
        if (task.Copies is { Ended: < 2 }) return;
        foreach (var input in task.Inputs)
        {
            _ctx!.Budget.Release(op.Index - 1, input);
            FreeBlock(input);
        }
    }

    /// <summary>The suspected nodes and why, for the snapshot; empty when none.</summary>
    private IReadOnlyList<string> SuspectedNow()
    {
        if (_suspicion.Suspected.Count == 0) return [];
        return [.. _suspicion.Suspected.Order(StringComparer.Ordinal).Select(n => _suspectedWhy.GetValueOrDefault(n, $"node {n} suspected"))];
    }
}
