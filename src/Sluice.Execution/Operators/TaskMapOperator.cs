using Sluice.Execution.Planning;

namespace Sluice.Execution.Operators;

/// <summary>Runs a stateless function per block on the runtime's task pool (see <see cref="TaskMapSpec"/>).</summary>
internal sealed class TaskMapOperator(int index, TaskMapSpec spec) : OperatorState(index, spec)
{
    public override string Kind => "tasks";

    public override void Dispatch(ExecutorContext ctx)
    {
        while (HasInput && Running < spec.Concurrency)
        {
            var decision = ctx.Budget.TryReserve(Index, NextInputBytes, nextInOrder: NextInOrderFirst(ctx));
            if (!decision.Allowed)
            {
                Stats.BackPressure = decision.Reason;
                return;
            }
            Stats.BackPressure = null;
            MarkStarted(ctx);
            var queued = Dequeue();
            BeginTask();
            var task = new RunningTask(queued.Block, decision.ReserveBytes, null, queued.Attempt);
            ctx.Watch(ExecutorContext.Safely(() => ctx.Runtime.RunTaskAsync(spec.Work, queued.Block, ctx.Token)),
                t => new ExecutorEvent.TaskEnded(this, task, t.IsCompletedSuccessfully ? [t.Result] : null, Failure(t)));
        }
    }

    internal static Exception? Failure(Task t) => t.IsCompletedSuccessfully ? null : (Exception?)t.Exception?.InnerException ?? new OperationCanceledException();

    internal static Exception? Failure<T>(Task<T> t) => Failure((Task)t);
}
