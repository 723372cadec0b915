using System.Collections.Concurrent;
using Sluice.Cluster.Hosting;
using Sluice.Cluster.Placement;

namespace Sluice.Cluster.Blocks;

/// <summary>
/// Serves this node's blocks to consumers on other nodes, as Arrow IPC in chunks far below the
/// message limit (an oversized message is not refused but retried for 30 s, orleans.md §3).
/// A block is serialized once per transfer; the stream is kept until its last chunk is read.
/// </summary>
[NodePlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class BlockStoreGrain(ClusterNode node) : Grain, IBlockStoreGrain
{
    private readonly ConcurrentDictionary<Guid, Lazy<byte[]?>> _streams = new();

    public async Task<BlockChunk> ReadChunkAsync(string job, Guid blockId, long offset)
    {
        if (!node.Serves(blockId, job)) return BlockChunk.NotYourJob;
        // Serializing tens of MiB takes milliseconds: off the grain's turn, so probes and other calls are not held up.
        var stream = await Task.Run(() => _streams.GetOrAdd(blockId, id => new Lazy<byte[]?>(() => Serialize(id))).Value);
        if (stream is null)
        {
            _streams.TryRemove(blockId, out _);
            return BlockChunk.Missing;
        }
        var count = (int)Math.Min(node.ChunkBytes, stream.LongLength - offset);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} is past the end of block {blockId} ({stream.LongLength} bytes)");
        if (offset + count >= stream.LongLength) _streams.TryRemove(blockId, out _);
        return new BlockChunk(true, stream.AsSpan((int)offset, count).ToArray(), stream.LongLength);
    }

    public Task FreeAsync(string job, Guid blockId)
    {
        if (!node.Serves(blockId, job)) return Task.CompletedTask;
        _streams.TryRemove(blockId, out _);
        node.Release(blockId);
        return Task.CompletedTask;
    }

    public Task<long> BytesFetchedAsync() => Task.FromResult(node.BytesFetched);

    private byte[]? Serialize(Guid blockId)
    {
        try
        {
            // Serializing copies: nothing here keeps the block, so its memory is released when it is freed.
            return ArrowIpc.Serialize(node.Local.Borrow(new Sluice.Blocks.BlockRef(blockId, node.Id, 0, 0, default)).Batch);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
