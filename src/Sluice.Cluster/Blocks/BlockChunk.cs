namespace Sluice.Cluster.Blocks;

/// <summary>
/// One piece of a block's Arrow IPC stream. <see cref="Found"/> is false when the owner no longer
/// holds the block (it was freed), or when it belongs to another job than the reader's (<see cref="Refused"/>).
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record BlockChunk([property: Id(0)] bool Found, [property: Id(1)] byte[] Data, [property: Id(2)] long TotalBytes, [property: Id(3)] bool Refused = false)
{
    public static BlockChunk Missing { get; } = new(false, [], 0);

    public static BlockChunk NotYourJob { get; } = new(false, [], 0, Refused: true);
}
