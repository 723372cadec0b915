namespace Sluice.Blocks;

/// <summary>
/// Where a block's rows came from: one read task and the block's position in that task's output.
/// Blocks never mix rows of two read tasks, so a block's lineage is one value and an output part
/// can be named after it (exactly-once writes, resume, order, located errors all hang off this).
/// </summary>
/// <param name="TaskIndex">The read task's position in the datasource's plan (for ordered output).</param>
/// <param name="TaskId">The read task's stable id, e.g. <c>docs/a.txt</c> or <c>data.parquet#rg3</c>.</param>
/// <param name="Seq">The block's position within the read task's output, from 0.</param>
/// <param name="FirstRow">The source row (0-based, within the read task's source) of the block's first row.</param>
/// <param name="Slice">Set when the block is one slice of block <paramref name="Seq"/>, cut at an actor pool to spread it over more actors.</param>
public readonly record struct BlockLineage(int TaskIndex, string TaskId, int Seq, long FirstRow, BlockSlice? Slice = null)
{
    /// <summary>A stable key for the block: the same input always yields the same key.</summary>
    public string Key => Slice is { } s ? $"{TaskIndex:D5}-{Seq:D5}-{s.Index:D4}of{s.Count}" : $"{TaskIndex:D5}-{Seq:D5}";

    /// <summary>A human description of the rows, for error messages.</summary>
    public string Describe(int rows) =>
        rows <= 0 ? $"{TaskId} (no rows)" : $"{TaskId} rows {FirstRow + 1}–{FirstRow + rows}";
}

/// <summary>
/// Which slice of its block a block is: the block reaching stage <paramref name="Stage"/> was cut into
/// <paramref name="Count"/> batch-aligned row ranges (<see cref="Plan(int, int, int)"/>), and this is range <paramref name="Index"/>.
/// The cut is a function of the block's rows, the count and the stage's batch size only, so a resumed or
/// recomputed block is cut the same way and each slice keeps its key.
/// </summary>
/// <param name="Stage">The index of the operator at whose input the block was cut.</param>
/// <param name="Index">The slice's position, from 0.</param>
/// <param name="Count">How many slices the block was cut into (2 or more).</param>
public readonly record struct BlockSlice(int Stage, int Index, int Count)
{
    /// <summary>
    /// The row ranges of <paramref name="count"/> slices of a block of <paramref name="rows"/> rows, aligned to
    /// <paramref name="align"/> rows (a stage's batch size): the batches are spread evenly, the first slices taking
    /// one more when they do not divide; only the last slice may end on a partial batch.
    /// </summary>
    public static (int Offset, int Rows)[] Plan(int rows, int count, int align)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(align, 1);
        var batches = (rows + align - 1) / align;
        if (count > batches) throw new ArgumentOutOfRangeException(nameof(count), count, $"a block of {rows} rows has only {batches} batches of {align}");
        var ranges = new (int, int)[count];
        var offset = 0;
        for (var i = 0; i < count; i++)
        {
            var take = batches / count + (i < batches % count ? 1 : 0);
            var end = Math.Min(rows, offset + take * align);
            ranges[i] = (offset, end - offset);
            offset = end;
        }
        return ranges;
    }
}
