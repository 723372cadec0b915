using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>
/// One running read task. The reader waits for a credit before pulling each block; the loop grants a
/// credit only when the memory budget has room for one more block, so back-pressure stops the reader
/// itself, not just a queue behind it.
/// </summary>
internal sealed class ReadRunner(SourceOperator op, int taskIndex, ReadTask task, ExecutorContext ctx, int? replaySeq = null) : IReadCallbacks, IDisposable
{
    private readonly SemaphoreSlim _credits = new(0);
    private readonly Queue<long> _reservations = new();
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.Token);

    /// <summary>Set when this run only recomputes one lost block: the others are read and dropped, and it stops after it.</summary>
    public int? ReplaySeq => replaySeq;

    /// <summary>A replay has handed over its block.</summary>
    public bool Delivered { get; private set; }

    /// <summary>The token the read runs under (a replay cancels it once its block is out).</summary>
    public CancellationToken Token => _stop.Token;

    public int TaskIndex => taskIndex;

    public ReadTask Task => task;

    public bool Ended { get; set; }

    /// <summary>Loop-side: wants a credit when it has used the last one.</summary>
    public bool WantsCredit => replaySeq is null && !Ended && _reservations.Count == 0;

    public void Grant(long reserved)
    {
        _reservations.Enqueue(reserved);
        _credits.Release();
    }

    /// <summary>Loop-side: the seq of the block it will read next (the blocks it delivered so far).</summary>
    public int NextSeq { get; private set; }

    /// <summary>Loop-side: a block arrived; returns the bytes reserved for it.</summary>
    public long TakeReservation()
    {
        NextSeq++;
        return _reservations.Dequeue();
    }

    /// <summary>Loop-side: the task ended; returns the reservations it did not use.</summary>
    public IEnumerable<long> DrainReservations()
    {
        while (_reservations.Count > 0) yield return _reservations.Dequeue();
    }

    // A replay is not paced: it carries one block the budget already paid for once.
    public ValueTask WaitForCreditAsync(CancellationToken cancellationToken) =>
        replaySeq is null ? new(_credits.WaitAsync(cancellationToken)) : ValueTask.CompletedTask;

    public void OnBlock(BlockRef block)
    {
        if (replaySeq is { } seq)
        {
            if (block.Lineage.Seq != seq || Delivered)
            {
                ctx.Runtime.Free(block);
                return;
            }
            Delivered = true;
            ctx.Post(new ExecutorEvent.BlockRead(op, this, block));
            _stop.Cancel();
            return;
        }
        ctx.Post(new ExecutorEvent.BlockRead(op, this, block));
    }

    public void Dispose()
    {
        _credits.Dispose();
        _stop.Dispose();
    }
}
