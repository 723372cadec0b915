using Sluice.Blocks;
using Sluice.Cluster.Hosting;
using Sluice.Contracts;

namespace Sluice.Cluster.Blocks;

/// <summary>
/// Gets a block from the node that holds it: from this node's store, or chunk by chunk from its owner's, naming the
/// job the block is read for (the owner refuses a block of another job). A block whose owner drained and left lives on
/// in its job's driver (<see cref="HandedBlocks"/>) under the same id: a read the owner cannot answer is asked there.
/// </summary>
internal sealed class BlockFetcher(ClusterNode node, IGrainFactory grains)
{
    /// <param name="driver">The node of the job's driver, where a drained worker's blocks went; null on the driver itself.</param>
    public async Task<Block> GetAsync(BlockRef block, string job, CancellationToken cancellationToken, string? driver = null)
    {
        // A task's input, read before the executor frees it: its memory is released with the block.
        if (block.Node == node.Id) return node.Local.Borrow(block);
        // Handed to this node (the job's driver) by its owner before it left: no network.
        if (node.Handed.Get(block.Id, job) is { } handed) return block.View(new Block(ArrowIpc.Deserialize(handed), block.Lineage));
        var read = await ReadAsync(block.Node, block, job, cancellationToken).ConfigureAwait(false);
        // The owner handed the block over while this read was on its way: on the driver it is here now.
        if (read.Bytes is null && node.Handed.Get(block.Id, job) is { } late) return block.View(new Block(ArrowIpc.Deserialize(late), block.Lineage));
        if (read.Bytes is null && !read.Refused && driver is not null && driver != block.Node && driver != node.Id)
        {
            var moved = await ReadAsync(driver, block, job, cancellationToken).ConfigureAwait(false);
            if (moved.Bytes is not null) read = moved;
        }
        if (read.Refused) throw new SluiceException($"block {block.Id} on node {block.Node} belongs to another job than {job}: refused");
        // The owner's process is gone (or unreachable): its blocks went with it. The executor recomputes from lineage.
        if (read.Failure is { } failure) throw new BlockLostException(block, failure);
        var bytes = read.Bytes ?? throw new InvalidOperationException($"block {block.Id} is not in the store of node {block.Node} (freed twice?)");
        node.CountFetched(bytes.LongLength);
        // A slice's owner sends the whole stored block; the slice is cut here (zero-copy).
        return block.View(new Block(ArrowIpc.Deserialize(bytes), block.Lineage));
    }

    /// <summary>What one node answered for a block: its bytes, a refusal (another job's), nothing (not there), or a failure (gone).</summary>
    private readonly record struct Read(byte[]? Bytes, bool Refused, Exception? Failure);

    private async Task<Read> ReadAsync(string from, BlockRef block, string job, CancellationToken cancellationToken)
    {
        var owner = grains.GetGrain<IBlockStoreGrain>(from);
        byte[]? bytes = null;
        long offset = 0;
        try
        {
            do
            {
                var chunk = await owner.ReadChunkAsync(job, block.Id, offset).WaitAsync(cancellationToken).ConfigureAwait(false);
                if (chunk.Refused) return new(null, true, null);
                if (!chunk.Found) return new(null, false, null);
                bytes ??= new byte[chunk.TotalBytes];
                chunk.Data.CopyTo(bytes, offset);
                offset += chunk.Data.Length;
            }
            while (offset < bytes.LongLength);
        }
        catch (Exception e) when (e is not (OperationCanceledException or InvalidOperationException))
        {
            return new(null, false, e);
        }
        return new(bytes, false, null);
    }

    /// <summary>Frees a block wherever it lives; a block on a node that is gone is already freed.</summary>
    public async Task FreeAsync(BlockRef block, string job)
    {
        if (block.Node == node.Id)
        {
            node.Local.Free(block);
            return;
        }
        if (node.Handed.Remove(block.Id, job)) return;
        try
        {
            await grains.GetGrain<IBlockStoreGrain>(block.Node).FreeAsync(job, block.Id).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Freeing is best effort: an unreachable owner took its blocks with it.
        }
    }
}
