using Apache.Arrow;

namespace Sluice.Blocks;

/// <summary>An immutable Arrow record batch and the lineage of its rows: the unit that moves.</summary>
public sealed record Block(RecordBatch Batch, BlockLineage Lineage)
{
    /// <summary>Row count.</summary>
    public int Rows => Batch.Length;

    /// <summary>
    /// Bytes of memory a block holds beyond its Arrow payload, per block. Measured (<c>bench memory-overhead</c>,
    /// Release, .NET 10, x64 Linux): 200,000 one-row Int64 blocks kept with an id and a <see cref="BlockRef"/> grew
    /// RSS by 1,063 B/block with one column and 3,555 B/block with five (GC heap +597 and +1,749 B/block), for 8 and
    /// 40 B of payload: ~623 B per column (array, array data, buffer objects, a 64-byte-aligned native allocation and
    /// its allocator header) and ~430 B per block (record batch, block, lineage, store entry, ref). Rounded up here:
    /// the executor's own per-block bookkeeping (queue nodes, tasks) comes on top of what was measured.
    /// </summary>
    public const long OverheadBytes = 512;

    /// <summary>Bytes of memory each column of a block holds beyond its payload (see <see cref="OverheadBytes"/>).</summary>
    public const long ColumnOverheadBytes = 640;

    /// <summary>Bytes of the block's Arrow payload (its buffers' data).</summary>
    public long Bytes { get; } = ArrowBatches.ByteSize(Batch);

    /// <summary>
    /// Bytes of memory the block really holds: its payload plus a per-block and a per-column overhead
    /// (<see cref="OverheadBytes"/>, <see cref="ColumnOverheadBytes"/>). What the memory budget charges.
    /// </summary>
    public long HeldBytes => Bytes + OverheadBytes + ColumnOverheadBytes * Batch.ColumnCount;

    /// <summary>Rows of this block's input that a stage failed on (this stage's and every earlier one's): they commit with the block.</summary>
    public IReadOnlyList<DeadLetter> DeadLetters { get; init; } = [];
}
