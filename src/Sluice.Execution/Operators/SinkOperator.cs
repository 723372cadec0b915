using Sluice.Blocks;
using Sluice.Execution.Planning;

namespace Sluice.Execution.Operators;

/// <summary>
/// Writes blocks through a datasink (see <see cref="SinkSpec"/>). Its blocks go nowhere after.
/// A block counts as written when the sink says it committed it (<see cref="ExecutorEvent.BlocksCommitted"/>),
/// not when its write task ends: a sink that groups blocks into files commits a block with its file.
/// Takes input when: it has a free write slot. Completes when: its input ended, every write ended and the
/// sink committed what it still held (one flush, counted as a running task so the job cannot end before it).
/// </summary>
internal sealed class SinkOperator(int index, SinkSpec spec) : OperatorState(index, spec)
{
    private bool _flushStarted;
    private bool _flushed;

    public override string Kind => "write";

    public override bool ProducesOutput => false;

    public SinkSpec Spec => spec;

    public override bool IsDone => base.IsDone && _flushed;

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
        if (UpstreamDone && !HasInput && Running == 0 && !_flushStarted)
        {
            _flushStarted = true;
            BeginTask();
            ctx.Watch(FlushAsync(ctx, ctx.Token), t => new ExecutorEvent.SinkFlushed(this, TaskMapOperator.Failure(t)));
        }
    }

    /// <summary>
    /// A block waits to be written though the output was flushed: for the loop's invariant check. It would be committed
    /// only when the output completes, unheard by the loop, and its read task never marked complete.
    /// </summary>
    internal bool InputAfterFlush => _flushStarted && HasInput;

    /// <summary>The loop heard the flush end: the operator may now be done.</summary>
    public void OnFlushed()
    {
        EndTask();
        _flushed = true;
    }

    private async Task<bool> WriteAsync(ExecutorContext ctx, BlockRef block, CancellationToken ct)
    {
        // Off the loop: in a cluster, getting the block may fetch its bytes from another node, and the sink's
        // write (encoding; for a full file also fsync and rename) takes as long as the disk; neither may hold the loop's turn.
        await Task.Yield();
        var bytes = await ctx.Runtime.GetAsync(block, ct).ConfigureAwait(false);
        Report(ctx, await spec.Sink.AppendAsync(bytes, ct).ConfigureAwait(false));
        return true;
    }

    private async Task<bool> FlushAsync(ExecutorContext ctx, CancellationToken ct)
    {
        await Task.Yield();
        Report(ctx, await spec.Sink.FlushAsync(ct).ConfigureAwait(false));
        return true;
    }

    // Posted before the task ends: the loop counts the commits no later than it hears the task's end.
    private static void Report(ExecutorContext ctx, IReadOnlyList<BlockLineage> committed)
    {
        if (committed.Count > 0) ctx.Post(new ExecutorEvent.BlocksCommitted(committed));
    }
}
