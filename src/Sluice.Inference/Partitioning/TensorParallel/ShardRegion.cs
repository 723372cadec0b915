namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>What a sharded region computes.</summary>
internal enum RegionKind
{
    /// <summary>
    /// Two weight ops with channel-wise ops between them (the Megatron MLP, or Conv→BN→Relu→Conv): the first is
    /// split by output channels, the second by input channels, and the shards' partial results are summed.
    /// </summary>
    Pair,

    /// <summary>A Gather from an embedding table, split by rows; each shard returns zeros for ids outside its rows.</summary>
    Embedding,
}

/// <summary>
/// A part of the graph that runs as N shards whose outputs add up to its one output.
/// <see cref="Splits"/> maps each initializer cut by channel to the axis it is cut along; <see cref="FirstShardOnly"/>
/// are the second op's bias, added once (by shard 0) rather than N times.
/// </summary>
internal sealed record ShardRegion(
    RegionKind Kind,
    IReadOnlyList<int> Nodes,
    IReadOnlyList<int> Constants,
    string Input,
    string Output,
    long Channels,
    IReadOnlyDictionary<string, int> Splits,
    IReadOnlyList<string> FirstShardOnly,
    long WeightBytes)
{
    /// <summary>The first node in graph order: every other node of the region depends on it.</summary>
    public int First => Nodes[0];

    /// <summary>Shard <paramref name="shard"/> of <paramref name="shards"/> holds channels [low, high).</summary>
    public (long Low, long High) Range(int shard, int shards) => (Channels * shard / shards, Channels * (shard + 1) / shards);

    public string Describe(GraphIndex g) =>
        $"{Kind} {string.Join("→", Nodes.Select(n => g.Nodes[n].OpType))} over {Channels} channels, {WeightBytes:N0} B";
}
