using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>A replicated segment runs once; a sharded region runs as one model per shard, whose outputs are summed.</summary>
internal enum PieceKind
{
    Replicated,
    Sharded,
}

/// <summary>
/// One step of a tensor-parallel run: its model (one, or one per shard), the tensors it reads from earlier
/// steps or the graph inputs, and the tensors later steps or the graph outputs need from it.
/// </summary>
internal sealed record PlannedPiece(PieceKind Kind, ShardRegion? Region, IReadOnlyList<ModelProto> Models, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs)
{
    /// <summary>Initializer bytes of <see cref="Models"/>[<paramref name="model"/>].</summary>
    public long ParameterBytes(int model) => Models[model].Graph.Initializer.Sum(GraphIndex.Bytes);
}

/// <summary>
/// How a model runs tensor-parallel over <see cref="Shards"/> devices: the regions chosen for splitting and the
/// pieces, in the order they run. Replicated segments run on shard 0's device.
/// </summary>
internal sealed record TensorParallelPlan(int Shards, IReadOnlyList<ShardRegion> Regions, IReadOnlyList<PlannedPiece> Pieces, long TotalParameterBytes)
{
    /// <summary>The bytes of the chosen regions' weights in the whole model.</summary>
    public long RegionBytes => Regions.Sum(r => r.WeightBytes);

    /// <summary>Weight bytes shard <paramref name="shard"/> holds for the sharded regions.</summary>
    public long ShardBytes(int shard) => Pieces.Where(p => p.Kind == PieceKind.Sharded).Sum(p => p.ParameterBytes(shard));

    /// <summary>Weight bytes of the replicated segments (all on shard 0's device).</summary>
    public long ReplicatedBytes => Pieces.Where(p => p.Kind == PieceKind.Replicated).Sum(p => p.ParameterBytes(0));

    /// <summary>The plan without its models, which are large and no longer needed once the sessions exist.</summary>
    public TensorParallelSummary Summary() =>
        new(Shards, Regions, Pieces.Count, [.. Enumerable.Range(0, Shards).Select(ShardBytes)], ReplicatedBytes, RegionBytes, TotalParameterBytes);
}
