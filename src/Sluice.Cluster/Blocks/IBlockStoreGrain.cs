using Orleans.Concurrency;

namespace Sluice.Cluster.Blocks;

/// <summary>A node's block store, seen from other nodes. Key: the node id; placed on that node.</summary>
internal interface IBlockStoreGrain : IGrainWithStringKey
{
    /// <summary>
    /// Bytes <c>[offset, offset + chunk size)</c> of block <paramref name="blockId"/>'s Arrow IPC stream, for a reader
    /// of job <paramref name="job"/> (the driver's run id): a block of another job is refused (<see cref="BlockChunk.NotYourJob"/>).
    /// Several readers may fetch at once, so every chunk call is interleaved.
    /// </summary>
    [AlwaysInterleave]
    Task<BlockChunk> ReadChunkAsync(string job, Guid blockId, long offset);

    /// <summary>Frees block <paramref name="blockId"/> if it belongs to <paramref name="job"/>; another job's block is left alone.</summary>
    [AlwaysInterleave]
    Task FreeAsync(string job, Guid blockId);

    /// <summary>
    /// Takes bytes <c>[offset, offset + data.Length)</c> of the Arrow IPC stream of block <paramref name="blockId"/> of job
    /// <paramref name="job"/>, handed over by a draining worker; the block is served here under its id once complete.
    /// Returns false (nothing kept) when this node is not that job's driver.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> AcceptChunkAsync(string job, Guid blockId, long offset, byte[] data, long totalBytes);

    /// <summary>Bytes this node fetched from other nodes so far.</summary>
    [AlwaysInterleave]
    Task<long> BytesFetchedAsync();
}
