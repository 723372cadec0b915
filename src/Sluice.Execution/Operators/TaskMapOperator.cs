using Sluice.Blocks;
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
                t => new ExecutorEvent.TaskEnded(this, task, t.IsCompletedSuccessfully ? t.Result : null, Failure(t)));
        }
    }

    internal static Exception? Failure(Task t) => t.IsCompletedSuccessfully ? null : (Exception?)t.Exception?.InnerException ?? new OperationCanceledException();

    internal static Exception? Failure<T>(Task<T> t) => Failure((Task)t);
}

/// <summary>Writes blocks through a datasink (see <see cref="SinkSpec"/>). Its blocks go nowhere after.</summary>
internal sealed class SinkOperator(int index, SinkSpec spec) : OperatorState(index, spec)
{
    public override string Kind => "write";

    public override bool ProducesOutput => false;

    public SinkSpec Spec => spec;

    public override void Dispatch(ExecutorContext ctx)
    {
        while (HasInput && Running < spec.Concurrency)
        {
            MarkStarted(ctx);
            var queued = Dequeue();
            BeginTask();
            var task = new RunningTask(queued.Block, 0, null, queued.Attempt);
            ctx.Watch(WriteAsync(ctx, queued.Block, ctx.Token),
                t => new ExecutorEvent.TaskEnded(this, task, null, TaskMapOperator.Failure(t)));
        }
    }

    private async Task<bool> WriteAsync(ExecutorContext ctx, BlockRef block, CancellationToken ct)
    {
        // Off the loop: in a cluster, getting the block may fetch its bytes from another node, and the
        // sink's write (temp file, fsync, rename) takes as long as the disk; neither may hold the loop's turn.
        await Task.Yield();
        var bytes = await ctx.Runtime.GetAsync(block, ct).ConfigureAwait(false);
        await spec.Sink.WriteAsync(bytes, ct).ConfigureAwait(false);
        return true;
    }
}
