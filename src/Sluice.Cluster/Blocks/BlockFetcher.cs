using Sluice.Blocks;
using Sluice.Cluster.Hosting;
using Sluice.Contracts;

namespace Sluice.Cluster.Blocks;

/// <summary>Gets a block from the node that holds it: from this node's store, or chunk by chunk from its owner's.</summary>
internal sealed class BlockFetcher(ClusterNode node, IGrainFactory grains)
{
    public async Task<Block> GetAsync(BlockRef block, CancellationToken cancellationToken)
    {
        if (block.Node == node.Id) return node.Local.GetStored(block);
        var owner = grains.GetGrain<IBlockStoreGrain>(block.Node);
        byte[]? bytes = null;
        long offset = 0;
        try
        {
            do
            {
                var chunk = await owner.ReadChunkAsync(block.Id, offset).WaitAsync(cancellationToken).ConfigureAwait(false);
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
        node.CountFetched(bytes.LongLength);
        return new Block(ArrowIpc.Deserialize(bytes), block.Lineage);
    }

    /// <summary>Frees a block wherever it lives; a block on a node that is gone is already freed.</summary>
    public async Task FreeAsync(BlockRef block)
    {
        if (block.Node == node.Id)
        {
            node.Local.Free(block);
            return;
        }
        try
        {
            await grains.GetGrain<IBlockStoreGrain>(block.Node).FreeAsync(block.Id).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Freeing is best effort: an unreachable owner took its blocks with it.
        }
    }
}
