namespace Sluice.Blocks;

/// <summary>
/// A handle to a block held in a node's block store: stages pass refs, never copies, until a
/// consumer on another node needs the bytes.
/// </summary>
public sealed record BlockRef(Guid Id, string Node, int Rows, long Bytes, BlockLineage Lineage);
