using Sluice.Contracts;
using Sluice.Execution.Planning;

namespace Sluice.Execution.Operators;

/// <summary>Runs read tasks, a bounded number at once, each paced by credits (see <see cref="SourceSpec"/>).</summary>
internal sealed class SourceOperator(int index, SourceSpec spec, IReadOnlyList<(int Index, ReadTask Task)> tasks) : OperatorState(index, spec)
{
    private readonly Queue<(int Index, ReadTask Task)> _pending = new(tasks);
    private readonly List<ReadRunner> _runners = [];

    public override string Kind => "read";

    public override bool IsDone => _pending.Count == 0 && _runners.Count == 0;

    public int ActiveReads => _runners.Count;

    public override void Dispatch(ExecutorContext ctx)
    {
        foreach (var runner in _runners)
        {
            if (!runner.WantsCredit) continue;
            if (!TryGrant(ctx, runner)) return;
        }
        while (_pending.Count > 0 && _runners.Count < spec.Parallelism)
        {
            var decision = ctx.Budget.TryReserve(Index);
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
            ctx.Watch(ctx.Runtime.RunReadAsync(task, taskIndex, spec.Options.BlockRows, spec.Fused, runner, ctx.Token),
                t => new ExecutorEvent.ReadEnded(this, runner, t.IsCompletedSuccessfully ? t.Result : 0, TaskMapOperator.Failure(t)));
        }
    }

    private bool TryGrant(ExecutorContext ctx, ReadRunner runner)
    {
        var decision = ctx.Budget.TryReserve(Index);
        if (!decision.Allowed)
        {
            Stats.BackPressure = decision.Reason;
            return false;
        }
        Stats.BackPressure = null;
        runner.Grant(decision.ReserveBytes);
        return true;
    }

    public void Remove(ReadRunner runner)
    {
        _runners.Remove(runner);
        runner.Dispose();
    }
}
