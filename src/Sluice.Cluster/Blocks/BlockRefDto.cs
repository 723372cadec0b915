using Sluice.Blocks;

namespace Sluice.Cluster.Blocks;

/// <summary>A <see cref="BlockRef"/> on the wire (Core's records carry no Orleans attributes).</summary>
[GenerateSerializer, Immutable]
internal sealed record BlockRefDto(
    [property: Id(0)] Guid Id, [property: Id(1)] string Node, [property: Id(2)] int Rows, [property: Id(3)] long Bytes,
    [property: Id(4)] int TaskIndex, [property: Id(5)] string TaskId, [property: Id(6)] int Seq, [property: Id(7)] long FirstRow)
{
    public static BlockRefDto Of(BlockRef r) =>
        new(r.Id, r.Node, r.Rows, r.Bytes, r.Lineage.TaskIndex, r.Lineage.TaskId, r.Lineage.Seq, r.Lineage.FirstRow);

    public BlockRef ToRef() => new(Id, Node, Rows, Bytes, new BlockLineage(TaskIndex, TaskId, Seq, FirstRow));
}
