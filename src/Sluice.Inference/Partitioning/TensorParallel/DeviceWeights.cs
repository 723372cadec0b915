using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>
/// The weight bytes each device of one actor holds of a model (what op onnx and op generate state as their need per
/// GPU): the whole file on one device; split over N (<see cref="TensorParallelPlanner"/>), each shard's slices of the
/// split regions plus, on the first device, the replicated rest — so the first device holds the most.
/// </summary>
internal static class DeviceWeights
{
    /// <summary>Per device, the first device first; one entry, the file's size, for one shard or a model that cannot be split (the actor's start says why).</summary>
    public static IReadOnlyList<long> PerDevice(string model, int shards)
    {
        var file = new FileInfo(model);
        if (!file.Exists) return [0];
        if (shards <= 1) return [file.Length];
        try
        {
            return PerDevice(ModelProto.Parser.ParseFrom(File.ReadAllBytes(file.FullName)), shards);
        }
        catch (SluiceException)
        {
            return [file.Length];
        }
    }

    /// <exception cref="BadInputException">Fewer than 2 shards, or nothing to split.</exception>
    public static IReadOnlyList<long> PerDevice(ModelProto model, int shards)
    {
        var plan = TensorParallelPlanner.Plan(model, shards);
        return [.. Enumerable.Range(0, plan.Shards).Select(s => plan.ShardBytes(s) + (s == 0 ? plan.ReplicatedBytes : 0))];
    }
}
