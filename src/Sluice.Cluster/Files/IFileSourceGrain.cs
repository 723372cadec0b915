using Orleans.Concurrency;

namespace Sluice.Cluster.Files;

/// <summary>
/// A node's job files, seen from other nodes. Key: the node id; placed on that node. A driver serves the files its job
/// names (<see cref="JobFileSources"/>); a worker answers how much its cache fetched.
/// </summary>
internal interface IFileSourceGrain : IGrainWithStringKey
{
    /// <summary>
    /// Bytes <c>[offset, offset + chunk size)</c> of the file whose SHA-256 is <paramref name="sha256"/>, if this node's job
    /// registered it (<see cref="FileChunk.NotServed"/> otherwise). Several workers may fetch at once: every call is interleaved.
    /// </summary>
    [AlwaysInterleave]
    Task<FileChunk> ReadAsync(string sha256, long offset);

    /// <summary>Bytes this node's file cache fetched from drivers so far (a file sent once per node counts once).</summary>
    [AlwaysInterleave]
    Task<long> BytesFetchedAsync();
}
