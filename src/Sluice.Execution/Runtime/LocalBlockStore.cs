using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sluice.Blocks;

namespace Sluice.Execution.Runtime;

/// <summary>
/// Blocks of one node, by id. Refs travel; the block stays here until freed, and then its native Arrow memory is
/// released at once where nothing else can still read it (<see cref="BlockMemory"/>).
/// </summary>
internal sealed class LocalBlockStore(string node)
{
    private readonly ConcurrentDictionary<Guid, Block> _blocks = new();
    private readonly BlockMemory _memory = new();
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => _blocks.Count;

    public BlockRef Put(Block block)
    {
        // 128 random bits, not a sequence: a block id names nothing another job could guess (on a cluster, refs travel).
        var id = new Guid(RandomNumberGenerator.GetBytes(16));
        _memory.Track(block);
        _blocks[id] = block;
        // The ref carries what the block really holds (payload plus overheads): what the budget charges and releases.
        var held = block.HeldBytes;
        Interlocked.Add(ref _bytes, held);
        return new BlockRef(id, node, block.Rows, held, block.Lineage) { DeadLetters = block.DeadLetters, Tokens = GeneratedTokens.Of(block.Rows > 0 ? block.Batch : null) };
    }

    /// <summary>The block a ref names: the stored block, or for a slice the rows it views (zero-copy).</summary>
    public Block Get(BlockRef block) =>
        _blocks.TryGetValue(block.Id, out var b) ? block.View(b) : throw new InvalidOperationException($"block {block.Id} is not in the store of node {node} (freed twice?)");

    /// <summary>Native allocations freed when their last block was (the rest are shared with a lent block, or managed).</summary>
    public long FreedAllocations => _memory.Freed;

    /// <summary>
    /// The block for a holder the executor cannot follow (a sink, the job's consumer), who may keep it after it is
    /// freed here: its memory, and any it shares, is then left to the GC.
    /// </summary>
    public Block Lend(BlockRef block)
    {
        var b = Get(block);
        _memory.Pin(b);
        return b;
    }

    /// <summary>
    /// The block was consumed: it leaves the store, and its native memory is released unless another stored block
    /// shares it or it was lent (<see cref="Lend"/>). A task still reading it would be a bug of the caller: blocks are
    /// freed after the task that read them ended (and, for zero-copy slice views, once for the stored block after all
    /// its views were consumed).
    /// </summary>
    public void Free(BlockRef block)
    {
        if (!_blocks.TryRemove(block.Id, out var b)) return;
        Interlocked.Add(ref _bytes, -b.HeldBytes);
        _memory.Release(b);
    }
}
