namespace Sluice.Blocks;

/// <summary>
/// A handle to a block held in a node's block store: stages pass refs, never copies, until a
/// consumer on another node needs the bytes.
/// </summary>
/// <param name="Offset">
/// For a slice (<see cref="BlockLineage.Slice"/> set): the first row of the stored block it views. A slice is a
/// zero-copy view: several refs name one stored block, which is freed once every slice is consumed.
/// </param>
public sealed record BlockRef(Guid Id, string Node, int Rows, long Bytes, BlockLineage Lineage, int Offset = 0)
{
    /// <summary>
    /// Whether this ref may view part of its stored block: its lineage names a slice. (A stage's output for a slice is
    /// a stored block of its own with the slice's lineage; <see cref="View"/> then returns it whole.)
    /// </summary>
    public bool IsView => Lineage.Slice is not null;

    /// <summary>
    /// The block's dead letters (<see cref="Block.DeadLetters"/>): the ref carries them, so they travel with it between nodes
    /// (a block's bytes fetched from another node come without them) and <see cref="View"/> hands them to the consumer.
    /// </summary>
    public IReadOnlyList<DeadLetter> DeadLetters { get; init; } = [];

    /// <summary>Tokens generated into the block (<see cref="GeneratedTokens"/>), counted when it was stored; 0 for most blocks.</summary>
    public long Tokens { get; init; }

    /// <summary>What a consumer of this ref sees of <paramref name="stored"/>, the block the store holds under <see cref="Id"/>.</summary>
    public Block View(Block stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (!IsView || (Offset == 0 && Rows == stored.Rows))
        {
            if (stored.Lineage == Lineage && ReferenceEquals(stored.DeadLetters, DeadLetters)) return stored;
            return stored with { Lineage = Lineage, DeadLetters = DeadLetters };
        }
        return new Block(stored.Batch.Slice(Offset, Rows), Lineage) { DeadLetters = DeadLetters };
    }
}
