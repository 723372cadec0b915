using Sluice.Cluster.Hosting;
using Sluice.Cluster.Placement;

namespace Sluice.Cluster.Blocks;

/// <summary>
/// Serves this node's blocks to consumers on other nodes, as Arrow IPC in chunks far below the
/// message limit (an oversized message is not refused but retried for 30 s, orleans.md §3).
/// A block is serialized once per transfer; the stream is kept until its last chunk is read.
/// On a driver it also takes the blocks of its job that a draining worker hands over, and serves them under their ids.
/// </summary>
[NodePlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class BlockStoreGrain(ClusterNode node) : Grain, IBlockStoreGrain
{
    public async Task<BlockChunk> ReadChunkAsync(string job, Guid blockId, long offset)
    {
        if (node.Handed.Get(blockId, job) is { } handed) return Slice(handed, blockId, offset, cache: false);
        if (!node.Serves(blockId, job)) return BlockChunk.NotYourJob;
        // Serializing tens of MiB takes milliseconds: off the grain's turn, so probes and other calls are not held up.
        var stream = await Task.Run(() => node.Streams.GetOrAdd(blockId, id => new Lazy<byte[]?>(() => Serialize(id))).Value);
        if (stream is null)
        {
            node.Streams.TryRemove(blockId, out _);
            return BlockChunk.Missing;
        }
        return Slice(stream, blockId, offset, cache: true);
    }

    private BlockChunk Slice(byte[] stream, Guid blockId, long offset, bool cache)
    {
        var count = (int)Math.Min(node.ChunkBytes, stream.LongLength - offset);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} is past the end of block {blockId} ({stream.LongLength} bytes)");
        if (cache && offset + count >= stream.LongLength) node.Streams.TryRemove(blockId, out _);
        return new BlockChunk(true, stream.AsSpan((int)offset, count).ToArray(), stream.LongLength);
    }

    public Task FreeAsync(string job, Guid blockId)
    {
        if (node.Handed.Remove(blockId, job)) return Task.CompletedTask;
        if (!node.Serves(blockId, job)) return Task.CompletedTask;
        node.Release(blockId);
        return Task.CompletedTask;
    }

    public Task<bool> AcceptChunkAsync(string job, Guid blockId, long offset, byte[] data, long totalBytes)
    {
        // Only a driver takes blocks, and only its own job's: a worker's store holds what its own actors made.
        if (node.Job != job) return Task.FromResult(false);
        node.Handed.Accept(job, blockId, offset, data, totalBytes);
        return Task.FromResult(true);
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
