using Sluice.Execution.Budget;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Pools;

/// <summary>One actor of a pool, as the loop sees it.</summary>
/// <param name="pool">The pool that counts and indexes it: told of every change of its readiness (handle, stopping), so
/// its counts and dispatch sets never need a scan.</param>
internal sealed class PoolActor(int index, ResourceGrant grant, long createdTicks, ActorPool? pool = null)
{
    private IActorHandle? _handle;
    private bool _stopping;

    public int Index => index;

    /// <summary>What the actor holds, with its devices.</summary>
    public ResourceGrant Grant => grant;

    /// <summary>When it went from no task to one (null while idle): busy time measures its stage's cost.</summary>
    public long? BusySinceTicks { get; set; }

    /// <summary>Null while the actor is starting (its model loading).</summary>
    public IActorHandle? Handle
    {
        get => _handle;
        set
        {
            pool?.Changing(this);
            _handle = value;
            pool?.Changed(this);
        }
    }

    /// <summary>
    /// The runtime's start of this actor. Kept after the loop stops listening: a start that completes after the
    /// job ended (a model load that did not stop on cancellation) still yields a handle that must be disposed.
    /// </summary>
    public Task<IActorHandle>? Start { get; set; }

    /// <summary>Its handle's disposal has begun: it is disposed once, whichever exit path gets there first.</summary>
    public bool Disposed { get; set; }

    public bool Stopping
    {
        get => _stopping;
        set
        {
            pool?.Changing(this);
            _stopping = value;
            pool?.Changed(this);
        }
    }

    /// <summary>Tasks in flight on it; changed only by its pool (<see cref="ActorPool.Begin"/>, <see cref="ActorPool.Finished"/>).</summary>
    public int InFlight { get; internal set; }

    /// <summary>Whether its pool counts it (from <see cref="ActorPool.Add"/> to <see cref="ActorPool.Remove"/>).</summary>
    internal bool InPool { get; set; }

    /// <summary>When it last finished a task (or was created): most-recently-used dispatch and idle timeouts read this.</summary>
    public long LastDoneTicks { get; set; } = createdTicks;

    /// <summary>A loop-wide counter value at its last finish: orders actors that finished within one clock tick.</summary>
    public long LastDoneSeq { get; internal set; }

    public long TasksDone { get; set; }

    public bool Ready => _handle is not null && !_stopping;
}
