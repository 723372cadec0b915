using Sluice.Blocks;

namespace Sluice.Cluster.Blocks;

/// <summary>A <see cref="BlockRef"/> on the wire (Core's records carry no Orleans attributes).</summary>
[GenerateSerializer, Immutable]
internal sealed record BlockRefDto(
    [property: Id(0)] Guid Id, [property: Id(1)] string Node, [property: Id(2)] int Rows, [property: Id(3)] long Bytes,
    [property: Id(4)] int TaskIndex, [property: Id(5)] string TaskId, [property: Id(6)] int Seq, [property: Id(7)] long FirstRow,
    [property: Id(8)] int Offset = 0, [property: Id(9)] int SliceStage = 0, [property: Id(10)] int SliceIndex = 0, [property: Id(11)] int SliceCount = 0,
    [property: Id(12)] DeadLetterDto[]? DeadLetters = null, [property: Id(13)] long Tokens = 0)
{
    public static BlockRefDto Of(BlockRef r) =>
        new(r.Id, r.Node, r.Rows, r.Bytes, r.Lineage.TaskIndex, r.Lineage.TaskId, r.Lineage.Seq, r.Lineage.FirstRow,
            r.Offset, r.Lineage.Slice?.Stage ?? 0, r.Lineage.Slice?.Index ?? 0, r.Lineage.Slice?.Count ?? 0,
            r.DeadLetters.Count == 0 ? null : [.. r.DeadLetters.Select(DeadLetterDto.Of)], r.Tokens);

    /// <summary>The ref; a slice count below 2 is a whole block (what a node sends for one).</summary>
    public BlockRef ToRef() => new(Id, Node, Rows, Bytes,
        new BlockLineage(TaskIndex, TaskId, Seq, FirstRow, SliceCount >= 2 ? new BlockSlice(SliceStage, SliceIndex, SliceCount) : null), Offset)
    {
        DeadLetters = DeadLetters is null ? [] : [.. DeadLetters.Select(d => d.ToLetter())],
        Tokens = Tokens,
    };
}

/// <summary>A <see cref="DeadLetter"/> on the wire: dead letters travel with their block's ref, between nodes and to the driver.</summary>
[GenerateSerializer, Immutable]
internal sealed record DeadLetterDto(
    [property: Id(0)] string Stage, [property: Id(1)] string Error, [property: Id(2)] string TaskId, [property: Id(3)] long Row,
    [property: Id(4)] string Input, [property: Id(5)] DateTimeOffset Time, [property: Id(6)] bool Kept)
{
    public static DeadLetterDto Of(DeadLetter d) => new(d.Stage, d.Error, d.TaskId, d.Row, d.Input, d.Time, d.Kept);

    public DeadLetter ToLetter() => new(Stage, Error, TaskId, Row, Input, Time, Kept);
}
