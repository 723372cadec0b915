namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>What a tensor-parallel model holds where: its split regions and the weight bytes of each shard.</summary>
/// <param name="ShardBytes">Per shard: the bytes of its slices of the regions' weights.</param>
/// <param name="ReplicatedBytes">Weights of the replicated segments, all on shard 0's device.</param>
/// <param name="RegionBytes">The regions' weights in the whole model.</param>
internal sealed record TensorParallelSummary(
    int Shards,
    IReadOnlyList<ShardRegion> Regions,
    int Pieces,
    IReadOnlyList<long> ShardBytes,
    long ReplicatedBytes,
    long RegionBytes,
    long TotalParameterBytes);
