using Sluice.Contracts;
using Sluice.Execution.Planning;

namespace Sluice.Execution.Operators;

/// <summary>Runs read tasks, a bounded number at once, each paced by credits (see <see cref="SourceSpec"/>).</summary>
internal sealed class SourceOperator(int index, SourceSpec spec, IReadOnlyList<(int Index, ReadTask Task)> tasks) : OperatorState(index, spec)
{
    private readonly Queue<(int Index, ReadTask Task)> _pending = new(tasks);
    private readonly List<ReadRunner> _runners = [];
    private readonly Dictionary<int, ReadTask> _byIndex = tasks.ToDictionary(t => t.Index, t => t.Task);

    public override string Kind => "read";

    public override bool IsDone => _pending.Count == 0 && _runners.Count == 0;

    public int ActiveReads => _runners.Count;

    public override void Dispatch(ExecutorContext ctx)
    {
        var next = ctx.NextInOrder();
        var denied = false;
        long held = 0;
        foreach (var runner in _runners) held += runner.ReservedBytes;
        // Credits go round the runners one at a time, up to CreditsAhead each, so one reader cannot take the room
        // the others need; a pass that grants nothing ends it (the usual case once every runner holds its credits).
        for (var pass = 0; pass < ReadRunner.CreditsAhead; pass++)
        {
            var granted = false;
            foreach (var runner in _runners)
            {
                if (!runner.WantsCredit) continue;
                // Once the budget refused one, it refuses the rest; only the reader of the next block in order still gets one.
                var nextInOrder = next == (runner.TaskIndex, runner.NextCreditSeq);
                if (denied && !nextInOrder) continue;
                // A credit beyond a runner's first is read-ahead: it may use the source's own reservation, never the
                // shared pool, so a reader that stalls (a slow file, the order's gate) holds no room other stages need.
                if (runner.Credits > 0 && !nextInOrder && ctx.Budget.UsedBy(Index) + held + _largestReserve > ctx.Budget.ReservationOf(Index)) continue;
                if (TryReserve(ctx, runner, nextInOrder, ref held)) granted = true;
                else denied = true;
            }
            if (!granted) break;
        }
        foreach (var runner in _runners) runner.ReleaseCredits();
        if (denied) return;
        while (_pending.Count > 0 && _runners.Count < spec.Parallelism)
        {
            var decision = ctx.Budget.TryReserve(Index, nextInOrder: next == (_pending.Peek().Index, 0));
            if (!decision.Allowed)
            {
                Stats.BackPressure = decision.Reason;
                return;
            }
            Stats.BackPressure = null;
            MarkStarted(ctx);
            var (taskIndex, task) = _pending.Dequeue();
            var runner = new ReadRunner(this, taskIndex, task, ctx);
            _runners.Add(runner);
            runner.Grant(decision.ReserveBytes);
            ctx.Watch(ExecutorContext.Safely(() => ctx.Runtime.RunReadAsync(task, taskIndex, spec.Block.Rows, spec.Fused, runner, runner.Token)),
                t => new ExecutorEvent.ReadEnded(this, runner, t.IsCompletedSuccessfully ? t.Result : 0, TaskMapOperator.Failure(t)));
        }
    }

    /// <summary>Reserves one block's bytes for <paramref name="runner"/>; the credit reaches the reader at its next <see cref="ReadRunner.ReleaseCredits"/>.</summary>
    private bool TryReserve(ExecutorContext ctx, ReadRunner runner, bool nextInOrder, ref long held)
    {
        var decision = ctx.Budget.TryReserve(Index, nextInOrder: nextInOrder);
        if (!decision.Allowed)
        {
            Stats.BackPressure = decision.Reason;
            return false;
        }
        Stats.BackPressure = null;
        runner.Reserve(decision.ReserveBytes);
        held += decision.ReserveBytes;
        _largestReserve = Math.Max(_largestReserve, decision.ReserveBytes);
        return true;
    }

    // The most one credit has reserved: what a read-ahead credit is checked against before it is asked for.
    private long _largestReserve;

    /// <summary>Reads one block again (its copy was lost with a node): the task is read up to it, and it flows on as new.</summary>
    public void Replay(ExecutorContext ctx, Sluice.Blocks.BlockLineage lineage)
    {
        var runner = new ReadRunner(this, lineage.TaskIndex, _byIndex[lineage.TaskIndex], ctx, lineage.Seq);
        _runners.Add(runner);
        ctx.Watch(ExecutorContext.Safely(() => ctx.Runtime.RunReadAsync(runner.Task, lineage.TaskIndex, spec.Block.Rows, spec.Fused, runner, runner.Token)),
            t => new ExecutorEvent.ReadEnded(this, runner, 0, TaskMapOperator.Failure(t)));
    }

    public void Remove(ReadRunner runner)
    {
        _runners.Remove(runner);
        runner.Dispose();
    }
}
