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
public readonly record struct BlockLineage(int TaskIndex, string TaskId, int Seq, long FirstRow)
{
    /// <summary>A stable key for the block: the same input always yields the same key.</summary>
    public string Key => $"{TaskIndex:D5}-{Seq:D5}";

    /// <summary>A human description of the rows, for error messages.</summary>
    public string Describe(int rows) =>
        rows <= 0 ? $"{TaskId} (no rows)" : $"{TaskId} rows {FirstRow + 1}–{FirstRow + rows}";
}
