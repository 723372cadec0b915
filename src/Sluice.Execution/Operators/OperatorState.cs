using Sluice.Blocks;
using Sluice.Execution.Planning;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Operators;

/// <summary>A block waiting in an operator's input queue, with how often it was tried.</summary>
internal readonly record struct QueuedBlock(BlockRef Block, int Attempt);

/// <summary>The executor's view of one physical operator: its input queue, tasks in flight and counters.</summary>
internal abstract class OperatorState(int index, PhysicalOperatorSpec spec)
{
    private readonly LinkedList<QueuedBlock> _input = new();

    public int Index => index;

    public string Name => spec.Name;

    public abstract string Kind { get; }

    /// <summary>Its counters: changed only by the operator itself and through the Record/Mark methods below, which the loop calls.</summary>
    protected OperatorStats Stats { get; } = new();

    /// <summary>The operator made (or, for a sink, wrote) a block.</summary>
    public void RecordProduced(int rows, long bytes, long tokens = 0)
    {
        Stats.Produced(rows, bytes);
        Stats.Tokens += tokens;
    }

    public void RecordTaskDone() => Stats.TasksDone++;

    /// <summary>A task of it runs again (failed, its actor or its input lost).</summary>
    public void RecordRetry() => Stats.TaskRetries++;

    /// <summary>A row one of this operator's stages failed on was dropped (on_error skip or dead_letter).</summary>
    public void RecordErrored() => Stats.ErroredRows++;

    /// <summary>Rows this operator's stages dropped as errored.</summary>
    public long ErroredInside => Stats.ErroredRows;

    /// <summary>Rows this operator emitted.</summary>
    public long RowsOut => Stats.RowsOut;

    /// <summary>The operator is done: its elapsed time stops here (the first call counts).</summary>
    public void MarkDone(long nowTicks) => Stats.DoneTicks ??= nowTicks;

    /// <summary>The operator has work again after it was done (a lost block read anew): its elapsed time runs on.</summary>
    public void MarkNotDone() => Stats.DoneTicks = null;

    public OperatorState? Downstream { get; set; }

    /// <summary>The operator that feeds this one; null for the source.</summary>
    public OperatorState? Upstream { get; set; }

    /// <summary>
    /// No more input can come: the operator above is done now. Asked afresh, never latched: a block lost with its node
    /// after the reader ended is read again by its read task, and until it is through, no stage below the reader has seen
    /// its input end (a pool would release the actor the block needs, a sink would flush before the block arrives and
    /// hold it past the job's last flush, its read task never marked complete).
    /// </summary>
    public bool UpstreamDone => Upstream is null || Upstream.IsDone;

    /// <summary>Tasks in flight: counted by the operator as it starts them, and as the loop reports each end (<see cref="EndTask"/>).</summary>
    public int Running { get; private set; }

    protected void BeginTask() => Running++;

    /// <summary>One of its tasks ended (done, failed or cancelled).</summary>
    public void EndTask()
    {
        if (Running == 0) throw new InvalidOperationException($"stage '{Name}': a task ended that was never started");
        Running--;
    }

    public long QueuedBytes { get; private set; }

    public int QueuedBlocks => _input.Count;

    public virtual bool ProducesOutput => true;

    public virtual bool IsDone => UpstreamDone && _input.Count == 0 && Running == 0;

    public void Enqueue(BlockRef block) => Enqueue(new QueuedBlock(block, 0), front: false);

    /// <summary>A retried block goes first: it is the oldest work.</summary>
    public void Enqueue(QueuedBlock block, bool front)
    {
        if (front) _input.AddFirst(block);
        else _input.AddLast(block);
        QueuedBytes += block.Block.Bytes;
    }

    protected bool HasInput => _input.Count > 0;

    /// <summary>The bytes of the queue's entries, summed afresh: for the loop's invariant check against <see cref="QueuedBytes"/>.</summary>
    internal long SumQueuedBytes() => _input.Sum(b => b.Block.Bytes);

    /// <summary>
    /// Moves the block the ordered output needs next to the front of the queue when it waits here; true if it
    /// did. That block may then be dispatched whatever the budget (see <see cref="ExecutorContext.NextInOrder"/>).
    /// </summary>
    protected bool NextInOrderFirst(ExecutorContext ctx)
    {
        if (ctx.NextInOrder() is not { } next) return false;
        for (var node = _input.First; node is not null; node = node.Next)
        {
            var lineage = node.Value.Block.Lineage;
            if (lineage.TaskIndex != next.Task || lineage.Seq != next.Seq) continue;
            if (node != _input.First)
            {
                _input.Remove(node);
                _input.AddFirst(node);
            }
            return true;
        }
        return false;
    }

    /// <summary>Bytes of the block that would be dispatched next.</summary>
    protected long NextInputBytes => _input.First?.Value.Block.Bytes ?? 0;

    /// <summary>The node holding the block that would be dispatched next.</summary>
    protected string? NextInputNode => _input.First?.Value.Block.Node;

    /// <summary>The block that would be dispatched next.</summary>
    protected QueuedBlock PeekInput() => _input.First!.Value;

    /// <summary>Replaces the block at the head of the queue by its slices, in order (their bytes sum to its own).</summary>
    protected void ReplaceFirst(IReadOnlyList<BlockRef> slices)
    {
        var first = Dequeue();
        for (var i = slices.Count - 1; i >= 0; i--) Enqueue(new QueuedBlock(slices[i], first.Attempt), front: true);
    }

    /// <summary>
    /// Takes the head of the queue and, behind it, the blocks that still fit in <paramref name="maxRows"/> rows (at most
    /// <paramref name="maxBlocks"/> blocks): small blocks coalesced into one task. Empty blocks are never coalesced.
    /// </summary>
    protected List<QueuedBlock> DequeueBundle(int maxRows, int maxBlocks)
    {
        var bundle = new List<QueuedBlock> { Dequeue() };
        var rows = bundle[0].Block.Rows;
        if (rows == 0) return bundle;
        while (bundle.Count < maxBlocks && _input.First is { } next && next.Value.Block.Rows > 0 && rows + next.Value.Block.Rows <= maxRows)
        {
            bundle.Add(Dequeue());
            rows += next.Value.Block.Rows;
        }
        return bundle;
    }

    /// <summary>Bytes of the blocks <see cref="DequeueBundle"/> would take now.</summary>
    protected long PeekBundleBytes(int maxRows, int maxBlocks)
    {
        var node = _input.First;
        if (node is null) return 0;
        long bytes = node.Value.Block.Bytes;
        var rows = node.Value.Block.Rows;
        var count = 1;
        if (rows == 0) return bytes;
        for (node = node.Next; node is not null && count < maxBlocks && node.Value.Block.Rows > 0 && rows + node.Value.Block.Rows <= maxRows; node = node.Next)
        {
            bytes += node.Value.Block.Bytes;
            rows += node.Value.Block.Rows;
            count++;
        }
        return bytes;
    }

    protected QueuedBlock Dequeue()
    {
        var b = _input.First!.Value;
        _input.RemoveFirst();
        QueuedBytes -= b.Block.Bytes;
        return b;
    }

    /// <summary>Starts whatever the queue, the budget and the slots allow.</summary>
    public abstract void Dispatch(ExecutorContext ctx);

    /// <summary>Lets the operator's autoscaler act.</summary>
    public virtual void Scale(ExecutorContext ctx) { }

    /// <summary>Releases what the operator holds when it is done or the job stops.</summary>
    public virtual ValueTask ShutdownAsync() => ValueTask.CompletedTask;

    public virtual (int Ready, int Starting, int Idle) Actors => (0, 0, 0);

    protected void MarkStarted(ExecutorContext ctx) => Stats.FirstStartTicks ??= ctx.NowTicks;

    public OperatorSnapshot Snapshot(ExecutorContext ctx)
    {
        var elapsed = Stats.FirstStartTicks is { } start
            ? (Stats.DoneTicks is { } done ? ctx.Options.TimeProvider.GetElapsedTime(start, done) : ctx.Since(start))
            : TimeSpan.Zero;
        var rate = elapsed.TotalSeconds > 0 ? Stats.RowsOut / elapsed.TotalSeconds : 0;
        var (ready, starting, idle) = Actors;
        return Describe(ctx, new OperatorSnapshot(Name, Kind, Stats.RowsOut, Stats.BlocksOut, Stats.BytesOut, Running, Stats.TasksDone, Stats.TaskRetries,
            QueuedBlocks, QueuedBytes, ctx.Budget.UsedBy(Index), ready, starting, idle, Stats.ActorsStarted, Stats.BackPressure, Stats.LastScaling,
            rate, elapsed, IsDone)
        {
            ErroredRows = Stats.ErroredRows,
            TokensOut = Stats.Tokens,
            TokensPerSecond = elapsed.TotalSeconds > 0 ? Stats.Tokens / elapsed.TotalSeconds : 0,
        });
    }

    /// <summary>Adds what only some operators know.</summary>
    protected virtual OperatorSnapshot Describe(ExecutorContext ctx, OperatorSnapshot snapshot) => snapshot;
}
