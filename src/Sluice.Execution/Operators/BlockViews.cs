using Sluice.Blocks;

namespace Sluice.Execution.Operators;

/// <summary>
/// Slices of stored blocks: an actor pool with more free actors than queued blocks cuts a block into
/// batch-aligned slices (<see cref="BlockSlice.Plan"/>), each a ref viewing part of the one stored block, so the
/// block's rows spread over several actors without a copy. The stored block is freed once every slice is consumed.
/// Loop-only state, like the rest of the executor's.
/// </summary>
internal sealed class BlockViews
{
    private readonly Dictionary<Guid, int> _live = [];

    /// <summary>Stored blocks that live slices still view.</summary>
    public int Viewed => _live.Count;

    /// <summary>
    /// Cuts <paramref name="whole"/> into <paramref name="count"/> slice refs at operator <paramref name="stage"/>, batch-aligned
    /// to <paramref name="align"/> rows. Their bytes are the block's, shared by rows, so charging the slices charges the block.
    /// </summary>
    public IReadOnlyList<BlockRef> Cut(BlockRef whole, int stage, int count, int align)
    {
        if (whole.IsView) throw new InvalidOperationException($"block {whole.Lineage.Describe(whole.Rows)} is already a slice; slices are not cut again");
        var ranges = BlockSlice.Plan(whole.Rows, count, align);
        var slices = new BlockRef[count];
        long bytesLeft = whole.Bytes;
        for (var i = 0; i < count; i++)
        {
            var (offset, rows) = ranges[i];
            var bytes = i == count - 1 ? bytesLeft : whole.Bytes * rows / whole.Rows;
            bytesLeft -= bytes;
            var lineage = whole.Lineage with { FirstRow = whole.Lineage.FirstRow + offset, Slice = new BlockSlice(stage, i, count) };
            // The block's dead letters go with its first slice only: each is committed once, with that slice.
            slices[i] = new BlockRef(whole.Id, whole.Node, rows, bytes, lineage, offset) { DeadLetters = i == 0 ? whole.DeadLetters : [], Tokens = i == 0 ? whole.Tokens : 0 };
        }
        _live[whole.Id] = count;
        return slices;
    }

    /// <summary>A ref was consumed: true when the stored block it names may now be freed (a whole block, or the last slice of one).</summary>
    public bool Release(BlockRef block)
    {
        // A slice's task output is a stored block of its own (its lineage names the slice, but no other ref views it).
        if (!block.IsView || !_live.TryGetValue(block.Id, out var left)) return true;
        if (left > 1)
        {
            _live[block.Id] = left - 1;
            return false;
        }
        _live.Remove(block.Id);
        return true;
    }
}
