using Sluice.Execution.Budget;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Pools;

/// <summary>One actor of a pool, as the loop sees it.</summary>
internal sealed class PoolActor(int index, ResourceGrant grant, long createdTicks)
{
    public int Index => index;

    /// <summary>What the actor holds, with its devices.</summary>
    public ResourceGrant Grant => grant;

    /// <summary>When it went from no task to one (null while idle): busy time measures its stage's cost.</summary>
    public long? BusySinceTicks { get; set; }

    /// <summary>Null while the actor is starting (its model loading).</summary>
    public IActorHandle? Handle { get; set; }

    /// <summary>
    /// The runtime's start of this actor. Kept after the loop stops listening: a start that completes after the
    /// job ended (a model load that did not stop on cancellation) still yields a handle that must be disposed.
    /// </summary>
    public Task<IActorHandle>? Start { get; set; }

    /// <summary>Its handle's disposal has begun: it is disposed once, whichever exit path gets there first.</summary>
    public bool Disposed { get; set; }

    public bool Stopping { get; set; }

    public int InFlight { get; set; }

    /// <summary>When it last finished a task (or was created): most-recently-used dispatch and idle timeouts read this.</summary>
    public long LastDoneTicks { get; set; } = createdTicks;

    /// <summary>A loop-wide counter value at its last finish: orders actors that finished within one clock tick.</summary>
    public long LastDoneSeq { get; set; }

    public long TasksDone { get; set; }

    public bool Ready => Handle is not null && !Stopping;
}
