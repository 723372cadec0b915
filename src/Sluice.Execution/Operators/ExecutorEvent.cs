using Sluice.Blocks;
using Sluice.Execution.Pools;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>What workers tell the executor's loop. Only the loop changes executor state.</summary>
internal abstract record ExecutorEvent
{
    public sealed record BlockRead(SourceOperator Op, ReadRunner Runner, BlockRef Block) : ExecutorEvent;

    public sealed record ReadEnded(SourceOperator Op, ReadRunner Runner, int Blocks, Exception? Error) : ExecutorEvent;

    /// <param name="Outputs">One output per input (none for a sink's write), or null when the task failed.</param>
    public sealed record TaskEnded(OperatorState Op, RunningTask Task, IReadOnlyList<BlockRef>? Outputs, Exception? Error) : ExecutorEvent;

    public sealed record ActorStarted(ActorPoolOperator Op, PoolActor Actor, IActorHandle? Handle, Exception? Error) : ExecutorEvent;

    public sealed record TaskMarked(Exception? Error) : ExecutorEvent;

    /// <summary>The sink committed these blocks (a file it closed holds them): only now do they count as written.</summary>
    public sealed record BlocksCommitted(IReadOnlyList<BlockLineage> Blocks) : ExecutorEvent;

    /// <summary>The sink committed what it held once its input ended (see <see cref="SinkOperator"/>).</summary>
    public sealed record SinkFlushed(SinkOperator Op, Exception? Error) : ExecutorEvent;

    public sealed record OutputTaken(BlockRef Block) : ExecutorEvent;

    public sealed record Tick : ExecutorEvent;
}
