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
        foreach (var runner in _runners)
        {
            if (!runner.WantsCredit) continue;
            // Once the budget refused one, it refuses the rest; only the reader of the next block in order still gets one.
            var nextInOrder = next == (runner.TaskIndex, runner.NextSeq);
            if (denied && !nextInOrder) continue;
            if (!TryGrant(ctx, runner, nextInOrder)) denied = true;
        }
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

    private bool TryGrant(ExecutorContext ctx, ReadRunner runner, bool nextInOrder)
    {
        var decision = ctx.Budget.TryReserve(Index, nextInOrder: nextInOrder);
        if (!decision.Allowed)
        {
            Stats.BackPressure = decision.Reason;
            return false;
        }
        Stats.BackPressure = null;
        runner.Grant(decision.ReserveBytes);
        return true;
    }

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
