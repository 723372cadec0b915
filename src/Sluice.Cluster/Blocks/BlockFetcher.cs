using Sluice.Blocks;
using Sluice.Cluster.Hosting;
using Sluice.Contracts;

namespace Sluice.Cluster.Blocks;

/// <summary>
/// Gets a block from the node that holds it: from this node's store, or chunk by chunk from its owner's, naming the
/// job the block is read for (the owner refuses a block of another job).
/// </summary>
internal sealed class BlockFetcher(ClusterNode node, IGrainFactory grains)
{
    public async Task<Block> GetAsync(BlockRef block, string job, CancellationToken cancellationToken)
    {
        // A task's input, read before the executor frees it: its memory is released with the block.
        if (block.Node == node.Id) return node.Local.Borrow(block);
        var owner = grains.GetGrain<IBlockStoreGrain>(block.Node);
        byte[]? bytes = null;
        long offset = 0;
        var refused = false;
        try
        {
            do
            {
                var chunk = await owner.ReadChunkAsync(job, block.Id, offset).WaitAsync(cancellationToken).ConfigureAwait(false);
                if (refused = chunk.Refused) break;
                if (!chunk.Found) throw new InvalidOperationException($"block {block.Id} is not in the store of node {block.Node} (freed twice?)");
                bytes ??= new byte[chunk.TotalBytes];
                chunk.Data.CopyTo(bytes, offset);
                offset += chunk.Data.Length;
            }
            while (offset < bytes.LongLength);
        }
        catch (Exception e) when (e is not (OperationCanceledException or InvalidOperationException))
        {
            // The owner's process is gone (or unreachable): its blocks went with it. The executor recomputes from lineage.
            throw new BlockLostException(block, e);
        }
        // Outside the try: a refusal is not a lost block (NodeGoneException, a SluiceException too, is one).
        if (refused || bytes is null) throw new SluiceException($"block {block.Id} on node {block.Node} belongs to another job than {job}: refused");
        node.CountFetched(bytes.LongLength);
        // A slice's owner sends the whole stored block; the slice is cut here (zero-copy).
        return block.View(new Block(ArrowIpc.Deserialize(bytes), block.Lineage));
    }

    /// <summary>Frees a block wherever it lives; a block on a node that is gone is already freed.</summary>
    public async Task FreeAsync(BlockRef block, string job)
    {
        if (block.Node == node.Id)
        {
            node.Local.Free(block);
            return;
        }
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
