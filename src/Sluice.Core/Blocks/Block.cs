using Apache.Arrow;

namespace Sluice.Blocks;

/// <summary>An immutable Arrow record batch and the lineage of its rows: the unit that moves.</summary>
public sealed record Block(RecordBatch Batch, BlockLineage Lineage)
{
    /// <summary>Row count.</summary>
    public int Rows => Batch.Length;

    /// <summary>Bytes held by the block's buffers (what the memory budget charges).</summary>
    public long Bytes { get; } = ArrowBatches.ByteSize(Batch);
}
