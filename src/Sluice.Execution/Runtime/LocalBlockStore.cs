using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sluice.Blocks;

namespace Sluice.Execution.Runtime;

/// <summary>Blocks of one node, by id. Refs travel; the block stays here until freed.</summary>
internal sealed class LocalBlockStore(string node)
{
    private readonly ConcurrentDictionary<Guid, Block> _blocks = new();
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => _blocks.Count;

    public BlockRef Put(Block block)
    {
        // 128 random bits, not a sequence: a block id names nothing another job could guess (on a cluster, refs travel).
        var id = new Guid(RandomNumberGenerator.GetBytes(16));
        _blocks[id] = block;
        // The ref carries what the block really holds (payload plus overheads): what the budget charges and releases.
        var held = block.HeldBytes;
        Interlocked.Add(ref _bytes, held);
        return new BlockRef(id, node, block.Rows, held, block.Lineage);
    }

    /// <summary>The block a ref names: the stored block, or for a slice the rows it views (zero-copy).</summary>
    public Block Get(BlockRef block) =>
        _blocks.TryGetValue(block.Id, out var b) ? block.View(b) : throw new InvalidOperationException($"block {block.Id} is not in the store of node {node} (freed twice?)");

    public void Free(BlockRef block)
    {
        if (_blocks.TryRemove(block.Id, out var b)) Interlocked.Add(ref _bytes, -b.HeldBytes);
    }
}
