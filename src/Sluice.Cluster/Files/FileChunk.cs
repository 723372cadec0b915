namespace Sluice.Cluster.Files;

/// <summary>
/// One piece of a job file, from the driver that serves it. <see cref="Served"/> is false when the driver does not serve
/// that hash: it serves only the files its own job names, nothing else from its disk.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record FileChunk([property: Id(0)] bool Served, [property: Id(1)] byte[] Data, [property: Id(2)] long TotalBytes)
{
    public static FileChunk NotServed { get; } = new(false, [], 0);
}
