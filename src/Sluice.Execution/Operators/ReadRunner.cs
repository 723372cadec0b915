using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>
/// One running read task. The reader waits for a credit before pulling each block; the loop grants a
/// credit only when the memory budget has room for one more block (each credit reserves one block's bytes), so
/// back-pressure stops the reader itself, not just a queue behind it. A runner holds up to
/// <see cref="CreditsAhead"/> credits, so a reader with room in the budget reads on without waiting for a turn
/// of the loop per block.
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

    /// <summary>
    /// Credits a runner may hold at once: blocks it may read before the loop hears of the first. One credit per block
    /// made the reader wait for a loop turn (an event, a wake-up, a grant) after every block; a few ahead hide that
    /// round trip, and since each one is a reservation in the budget, memory stays bounded all the same.
    /// </summary>
    public const int CreditsAhead = 4;

    private int _unreleased;

    /// <summary>Loop-side: wants a credit while it holds fewer than <see cref="CreditsAhead"/>.</summary>
    public bool WantsCredit => replaySeq is null && !Ended && _reservations.Count < CreditsAhead;

    /// <summary>Loop-side: the seq of the block the next credit would be for (the credits it holds cover the blocks before it).</summary>
    public int NextCreditSeq => NextSeq + _reservations.Count;

    /// <summary>Loop-side: one credit, its <paramref name="reserved"/> bytes already reserved in the budget; the reader sees it at once.</summary>
    public void Grant(long reserved)
    {
        Reserve(reserved);
        ReleaseCredits();
    }

    /// <summary>Loop-side: one credit, its bytes reserved; the reader sees it at <see cref="ReleaseCredits"/> (one wake-up for several).</summary>
    public void Reserve(long reserved)
    {
        _reservations.Enqueue(reserved);
        ReservedBytes += reserved;
        _unreleased++;
    }

    /// <summary>Loop-side: the credits it holds (granted, their blocks not arrived yet).</summary>
    public int Credits => _reservations.Count;

    /// <summary>Loop-side: the bytes its credits hold in the budget.</summary>
    public long ReservedBytes { get; private set; }

    /// <summary>Loop-side: hands the reader the credits reserved since the last release.</summary>
    public void ReleaseCredits()
    {
        if (_unreleased == 0) return;
        _credits.Release(_unreleased);
        _unreleased = 0;
    }

    /// <summary>Loop-side: the seq of the block it will read next (the blocks it delivered so far).</summary>
    public int NextSeq { get; private set; }

    /// <summary>Loop-side: a block arrived; returns the bytes reserved for it.</summary>
    public long TakeReservation()
    {
        NextSeq++;
        var reserved = _reservations.Dequeue();
        ReservedBytes -= reserved;
        return reserved;
    }

    /// <summary>Loop-side: the task ended; returns the reservations it did not use.</summary>
    public IEnumerable<long> DrainReservations()
    {
        ReservedBytes = 0;
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
