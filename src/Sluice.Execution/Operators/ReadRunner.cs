using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>
/// One running read task. The reader waits for a credit before pulling each block; the loop grants a
/// credit only when the memory budget has room for one more block, so back-pressure stops the reader
/// itself, not just a queue behind it.
/// </summary>
internal sealed class ReadRunner(SourceOperator op, int taskIndex, ReadTask task, ExecutorContext ctx) : IReadCallbacks, IDisposable
{
    private readonly SemaphoreSlim _credits = new(0);
    private readonly Queue<long> _reservations = new();

    public int TaskIndex => taskIndex;

    public ReadTask Task => task;

    public bool Ended { get; set; }

    /// <summary>Loop-side: wants a credit when it has used the last one.</summary>
    public bool WantsCredit => !Ended && _reservations.Count == 0;

    public void Grant(long reserved)
    {
        _reservations.Enqueue(reserved);
        _credits.Release();
    }

    /// <summary>Loop-side: a block arrived; returns the bytes reserved for it.</summary>
    public long TakeReservation() => _reservations.Dequeue();

    /// <summary>Loop-side: the task ended; returns the reservations it did not use.</summary>
    public IEnumerable<long> DrainReservations()
    {
        while (_reservations.Count > 0) yield return _reservations.Dequeue();
    }

    public ValueTask WaitForCreditAsync(CancellationToken cancellationToken) => new(_credits.WaitAsync(cancellationToken));

    public void OnBlock(BlockRef block) => ctx.Post(new ExecutorEvent.BlockRead(op, this, block));

    public void Dispose() => _credits.Dispose();
}
