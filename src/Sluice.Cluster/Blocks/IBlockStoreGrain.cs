using Orleans.Concurrency;

namespace Sluice.Cluster.Blocks;

/// <summary>A node's block store, seen from other nodes. Key: the node id; placed on that node.</summary>
internal interface IBlockStoreGrain : IGrainWithStringKey
{
    /// <summary>
    /// Bytes <c>[offset, offset + chunk size)</c> of block <paramref name="blockId"/>'s Arrow IPC stream.
    /// Several readers may fetch at once, so every chunk call is interleaved.
    /// </summary>
    [AlwaysInterleave]
    Task<BlockChunk> ReadChunkAsync(long blockId, long offset);

    [AlwaysInterleave]
    Task FreeAsync(long blockId);

    /// <summary>Bytes this node fetched from other nodes so far.</summary>
    [AlwaysInterleave]
    Task<long> BytesFetchedAsync();
}
