using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Operators;

namespace Sluice.Execution;

internal sealed partial class StreamingExecutor
{
    private void Handle(ExecutorEvent e)
    {
        var ctx = _ctx!;
        if (e is ExecutorEvent.BlockRead or ExecutorEvent.BlocksCommitted or ExecutorEvent.TaskEnded { Error: null } or ExecutorEvent.ActorStarted { Error: null })
            Progressed();
        switch (e)
        {
            case ExecutorEvent.BlockRead read:
                if (read.Runner.ReplaySeq is null) ctx.Budget.EndReservation(read.Op.Index, read.Runner.TakeReservation());
                OnProduced(read.Op, read.Block);
                break;
            case ExecutorEvent.ReadEnded ended:
                foreach (var r in ended.Runner.DrainReservations()) ctx.Budget.EndReservation(ended.Op.Index, r);
                ended.Runner.Ended = true;
                ended.Op.Remove(ended.Runner);
                if (ended.Runner.ReplaySeq is not null)
                {
                    // A replay stops itself once its block is out; only a real failure matters.
                    if (ended.Error is not null && !ended.Runner.Delivered && !IsShutdown(ended.Error)) throw ended.Error;
                    break;
                }
                if (ended.Error is not null && !IsShutdown(ended.Error))
                {
                    throw ended.Error is SluiceException ? ended.Error
                        : new SluiceException($"reading {ended.Runner.Task.Id} failed: {ended.Error.Message}", ended.Error);
                }
                // A read stopped by the shutdown did not finish: its block count is not the task's, so it is never
                // marked complete (a resume must read it again).
                if (ended.Error is not null) break;
                _blocksPerTask[ended.Runner.TaskIndex] = ended.Blocks;
                Output?.Flush();
                CheckCommitted(ended.Runner.TaskIndex);
                break;
            case ExecutorEvent.TaskEnded task:
                OnTaskEnded(task);
                break;
            case ExecutorEvent.ActorStarted started:
                if (started.Error is not null && IsShutdown(started.Error)) break;
                if (started.Error is ActorLostException)
                {
                    // Its node went away while the model loaded: forget it; the pool scales up elsewhere.
                    Log.StartLost(ctx.Logger, started.Op.Name, started.Actor.Index, started.Error.Message);
                    started.Op.OnActorLost(ctx, started.Actor);
                    SyncNodes();
                    break;
                }
                started.Op.OnActorStarted(ctx, started.Actor, started.Handle, started.Error);
                break;
            case ExecutorEvent.TaskMarked marked:
                _pendingMarks--;
                if (marked.Error is not null && !IsShutdown(marked.Error)) throw marked.Error;
                break;
            case ExecutorEvent.BlocksCommitted committed:
                foreach (var lineage in committed.Blocks) CommitBlock(lineage);
                break;
            case ExecutorEvent.SinkFlushed flushed:
                flushed.Op.OnFlushed();
                if (flushed.Error is not null && !IsShutdown(flushed.Error)) throw flushed.Error;
                break;
            case ExecutorEvent.OutputTaken taken:
                ctx.Budget.Release(_ops[^1].Index, taken.Block);
                FreeBlock(taken.Block);
                break;
            case ExecutorEvent.Tick:
                SyncNodes();
                break;
        }
    }

    private void OnProduced(OperatorState op, BlockRef block)
    {
        var ctx = _ctx!;
        op.RecordProduced(block.Rows, block.Bytes, block.Tokens);
        // Resume: a block committed by an earlier run is read again (its read task was not complete)
        // but goes no further: its output is already written, exactly once. So are slices of it.
        if (_sink is not null && _sinkState.CommittedBlocks.Contains(Datasink.BlockKey(block.Lineage)))
        {
            FreeBlock(block);
            CommitBlock(block.Lineage);
            return;
        }
        // Every slice of it committed: ResumeSlices counted them.
        if (_sink is not null && !block.IsView && ResumeSlices(block))
        {
            FreeBlock(block);
            return;
        }
        if (op.Downstream is null or SinkOperator) CountDeadLetters(block);
        if (op.Downstream is { } next)
        {
            foreach (var b in ApplyPendingCut(next, block))
            {
                ctx.Budget.Charge(op.Index, b);
                next.Enqueue(b);
            }
            return;
        }
        ctx.Budget.Charge(op.Index, block);
        Output?.Accept(block);
    }

    private void OnTaskEnded(ExecutorEvent.TaskEnded e)
    {
        var ctx = _ctx!;
        var op = e.Op;
        op.EndTask();
        if (e.Task.Actor is not null) ((ActorPoolOperator)op).OnTaskEnded(ctx, e.Task, e.Error is null);
        if (op.ProducesOutput) ctx.Budget.EndReservation(op.Index, e.Task.Reserved);
        if (DiscardCopy(op, e)) return;
        if (e.Error is not null)
        {
            if (IsShutdown(e.Error)) return;
            if (Recover(op, e)) return;
            if (e.Error is BadInputException || e.Task.Attempt >= _options.MaxTaskRetries) throw Located(op, e);
            op.RecordRetry();
            Log.Retry(ctx.Logger, op.Name, e.Task.Describe(), e.Task.Attempt + 1, e.Error.Message);
            for (var i = e.Task.Inputs.Count - 1; i >= 0; i--) op.Enqueue(new QueuedBlock(e.Task.Inputs[i], e.Task.Attempt + 1), front: true);
            return;
        }
        op.RecordTaskDone();
        ReleaseInputs(op, e.Task);
        if (e.Outputs is { Count: > 0 } outputs)
        {
            foreach (var output in outputs) OnProduced(op, output);
        }
        // A written block counts as committed when the sink reports it (ExecutorEvent.BlocksCommitted), not here:
        // a sink that groups blocks into files commits it later, with its file.
        else if (!op.ProducesOutput) op.RecordProduced(e.Task.Rows, e.Task.Inputs.Sum(i => i.Bytes));
    }

    /// <summary>
    /// Faults of a cluster that the job survives: an actor lost with its node (its task runs again
    /// elsewhere, not counted as a failure) and an input block lost with its node (recomputed from
    /// its lineage: its read task is read again up to that block, which then flows through every
    /// stage anew — deterministic stages give the same rows, and the sink writes each key once; a lost
    /// slice is cut again from the recomputed block, and only it goes on).
    /// </summary>
    private bool Recover(OperatorState op, ExecutorEvent.TaskEnded e)
    {
        var ctx = _ctx!;
        switch (e.Error)
        {
            case BlockLostException lost when lost.Block is null || e.Task.Inputs.Any(i => i.Id == lost.Block.Id):
                // Every input held by the lost block's node went with it; the others run again.
                for (var i = e.Task.Inputs.Count - 1; i >= 0; i--)
                {
                    var input = e.Task.Inputs[i];
                    if (lost.Block is not null && input.Node != lost.Block.Node)
                    {
                        op.Enqueue(new QueuedBlock(input, e.Task.Attempt), front: true);
                        continue;
                    }
                    ctx.Budget.Release(op.Index - 1, input);
                    if (input.IsView) FreeBlock(input);
                    if (input.Lineage.Slice is { } slice) PendCut(input.Lineage, new PendingCut(slice.Stage, slice.Count, new HashSet<int> { slice.Index }));
                    ((SourceOperator)_ops[0]).Replay(ctx, input.Lineage);
                    Log.Retry(ctx.Logger, op.Name, input.Lineage.Describe(input.Rows), e.Task.Attempt, "input block lost with its node; recomputing it from its read task");
                }
                op.RecordRetry();
                SyncNodes();
                return true;
            case ActorLostException:
                if (e.Task.Actor is { } actor) ((ActorPoolOperator)op).OnActorLost(ctx, actor);
                for (var i = e.Task.Inputs.Count - 1; i >= 0; i--) op.Enqueue(new QueuedBlock(e.Task.Inputs[i], e.Task.Attempt), front: true);
                op.RecordRetry();
                Log.Retry(ctx.Logger, op.Name, e.Task.Describe(), e.Task.Attempt, $"actor lost with its node ({e.Error.Message}); running the task on another actor");
                SyncNodes();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Follows the runtime's membership: nodes that joined offer their resources, nodes that left are dropped.</summary>
    private void SyncNodes()
    {
        if (_options.Resources is not null) return;
        _ctx!.Resources.Sync(_runtime.Nodes);
    }

    private void Commit(int taskIndex)
    {
        _committed[taskIndex] = _committed.GetValueOrDefault(taskIndex) + 1;
        CheckCommitted(taskIndex);
    }

    /// <summary>A read task is complete once its block count is known and that many blocks are committed.</summary>
    private void CheckCommitted(int taskIndex)
    {
        if (_sink is null || _blocksPerTask.GetValueOrDefault(taskIndex) is not { } total) return;
        if (_committed.GetValueOrDefault(taskIndex) != total || !_marked.Add(taskIndex)) return;
        _pendingMarks++;
        var ctx = _ctx!;
        ctx.Watch(MarkAsync(_taskIds[taskIndex], total, ctx.Token), t => new ExecutorEvent.TaskMarked(Operators.TaskMapOperator.Failure(t)));
    }

    private async Task<bool> MarkAsync(string taskId, int blocks, CancellationToken ct)
    {
        await _sink!.MarkTaskCompleteAsync(taskId, blocks, ct).ConfigureAwait(false);
        return true;
    }

    private bool IsShutdown(Exception e) => e is OperationCanceledException && _ctx!.Token.IsCancellationRequested;

    private static Exception Located(OperatorState op, ExecutorEvent.TaskEnded e)
    {
        if (e.Error is SluiceException) return e.Error;
        return new SluiceException($"stage '{op.Name}' failed on {e.Task.Describe()}: {e.Error!.Message}", e.Error);
    }
}
