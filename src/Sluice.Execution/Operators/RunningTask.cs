using Sluice.Blocks;
using Sluice.Execution.Pools;

namespace Sluice.Execution.Operators;

/// <summary>
/// One task in flight: its inputs (one block, or at an actor pool several small ones coalesced into full batches),
/// the bytes it reserved for its output, and the actor running it.
/// </summary>
internal sealed record RunningTask(IReadOnlyList<BlockRef> Inputs, long Reserved, PoolActor? Actor, int Attempt)
{
    public RunningTask(BlockRef input, long reserved, PoolActor? actor, int attempt)
        : this([input], reserved, actor, attempt)
    {
    }

    /// <summary>When it was dispatched (the loop's clock): its age tells a straggler.</summary>
    public long StartedTicks { get; init; }

    /// <summary>Cancels this task alone (linked to the job's token): a speculated task's losing copy is stopped with it.</summary>
    public CancellationTokenSource? Cancel { get; init; }

    /// <summary>The task and its backup copy, once it has one (<see cref="TaskCopies"/>); null for a task never speculated.</summary>
    public TaskCopies? Copies { get; set; }

    /// <summary>The first input: the task's only one unless it coalesced several.</summary>
    public BlockRef Input => Inputs[0];

    public int Rows => Inputs.Count == 1 ? Inputs[0].Rows : Inputs.Sum(i => i.Rows);

    /// <summary>The input's rows, for errors and logs.</summary>
    public string Describe() => Inputs.Count == 1
        ? Input.Lineage.Describe(Input.Rows)
        : $"{Input.Lineage.Describe(Input.Rows)} and {Inputs.Count - 1} more blocks coalesced with it";
}
