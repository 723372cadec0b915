using Sluice.Blocks;

namespace Sluice.Contracts;

/// <summary>
/// The actor (or the node under it) is gone: its process died or left. The executor drops the
/// actor, gives its resources back and runs the task again elsewhere; it does not count as a
/// failure of the task.
/// </summary>
public sealed class ActorLostException : SluiceException
{
    public ActorLostException(string message, Exception inner) : base(message, inner) { }

    public ActorLostException(string message) : base(message) { }

    public ActorLostException() { }
}

/// <summary>
/// A block's bytes are gone with the node that held them. The executor recomputes the block from
/// its lineage (its read task and position) rather than failing the job.
/// </summary>
public sealed class BlockLostException : SluiceException
{
    public BlockLostException(BlockRef block, Exception? inner = null)
        : base($"block {block.Id} ({block.Lineage.Describe(block.Rows)}) was lost with node {block.Node}", inner ?? new InvalidOperationException("node lost"))
    {
        Block = block;
    }

    public BlockRef? Block { get; }

    public BlockLostException() { }

    public BlockLostException(string message) : base(message) { }

    public BlockLostException(string message, Exception inner) : base(message, inner) { }
}
