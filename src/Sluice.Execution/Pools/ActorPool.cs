using Sluice.Contracts;
using Sluice.Execution.Budget;

namespace Sluice.Execution.Pools;

/// <summary>
/// The actors of one operator and the decisions about them: whom to give the next task
/// (most-recently-used by default) and how many actors to have (scale by the backlog, release the idle).
/// It is the one owner of each actor's counters (tasks in flight, busy time, last finish): nothing else changes them.
/// </summary>
internal sealed class ActorPool(MapBatchesOptions options, ResourceRequest resources, DispatchPolicy policy)
{
    private readonly List<PoolActor> _actors = [];

    // Most-recently-used dispatch without a scan: actors with no task, and actors with a task and a free slot, each
    // ordered best first (latest finish, then the oldest actor). Kept by Add, Remove, Begin and Finished, the only
    // writers of the order's keys; actors that are starting or stopping stay in and are skipped (stopping ones dropped) on a pick.
    private readonly SortedSet<PoolActor> _idle = new(MruOrder.Instance);
    private readonly SortedSet<PoolActor> _partial = new(MruOrder.Instance);
    private int _nextIndex;
    private long _seq;

    public IReadOnlyList<PoolActor> Actors => _actors;

    public int Live => _actors.Count(a => !a.Stopping);

    public int Starting => _actors.Count(a => a.Handle is null && !a.Stopping);

    public int ReadyCount => _actors.Count(a => a.Ready);

    public int Idle => _actors.Count(a => a.Ready && a.InFlight == 0);

    public ResourceRequest Resources => resources;

    /// <summary>Actors with no task (starting ones included; a stopping one until a pick drops it): kept by the index, no scan.</summary>
    public int WithoutTask => _idle.Count;

    public PoolActor Add(ResourceGrant grant, long nowTicks)
    {
        var actor = new PoolActor(_nextIndex++, grant, nowTicks);
        _actors.Add(actor);
        _idle.Add(actor);
        return actor;
    }

    public void Remove(PoolActor actor)
    {
        _actors.Remove(actor);
        _idle.Remove(actor);
        _partial.Remove(actor);
    }

    /// <summary>
    /// The actor that gets the next task, or null when every slot is taken. Most-recently-used picks
    /// among idle actors first and doubles up on a busy actor only when none is idle: a second task
    /// waits behind the first's model run, so giving it to a busy actor while another idles would
    /// leave a core unused. When load drops, the hot set finishes and picks up again before the cold
    /// tail is touched, so surplus actors stay idle and are released.
    /// </summary>
    /// <param name="preferNode">The node holding the input: an idle actor there gets it first, so the bytes need not travel.</param>
    public PoolActor? Pick(string? preferNode = null)
    {
        if (policy == DispatchPolicy.MostRecentlyUsed) return PickMostRecentlyUsed(preferNode);
        PoolActor? best = null;
        PoolActor? local = null;
        foreach (var a in _actors)
        {
            if (!a.Ready || a.InFlight >= options.MaxConcurrency) continue;
            if (best is null || Better(a, best)) best = a;
            if (a.InFlight == 0 && a.Grant.Node == preferNode && (local is null || Better(a, local))) local = a;
        }
        return local ?? best;
    }

    /// <summary><see cref="Pick"/> for most-recently-used, from the ordered sets: the same choice as a scan with <see cref="Better"/>.</summary>
    private PoolActor? PickMostRecentlyUsed(string? preferNode)
    {
        PoolActor? best = null;
        PoolActor? local = null;
        List<PoolActor>? gone = null;
        foreach (var a in _idle)
        {
            if (!a.Ready)
            {
                if (a.Stopping) (gone ??= []).Add(a);
                continue;
            }
            best ??= a;
            if (a.Grant.Node == preferNode)
            {
                local = a;
                break;
            }
            // Without a node to prefer, the first ready one is the pick.
            if (preferNode is null) break;
        }
        if (best is null)
        {
            foreach (var a in _partial)
            {
                if (!a.Ready)
                {
                    if (a.Stopping) (gone ??= []).Add(a);
                    continue;
                }
                best = a;
                break;
            }
        }
        if (gone is not null)
        {
            foreach (var a in gone)
            {
                _idle.Remove(a);
                _partial.Remove(a);
            }
        }
        return local ?? best;
    }

    /// <summary>Best first: the latest finish, then (ties, e.g. actors that never ran a task) the oldest actor, as a scan in order would pick.</summary>
    private sealed class MruOrder : IComparer<PoolActor>
    {
        public static readonly MruOrder Instance = new();

        public int Compare(PoolActor? x, PoolActor? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            var bySeq = y!.LastDoneSeq.CompareTo(x!.LastDoneSeq);
            return bySeq != 0 ? bySeq : x.Index.CompareTo(y.Index);
        }
    }

    private bool Better(PoolActor a, PoolActor b)
    {
        // Least-loaded spreads: fewest tasks, then the one that waited longest.
        if (policy == DispatchPolicy.LeastLoaded)
            return a.InFlight != b.InFlight ? a.InFlight < b.InFlight : a.LastDoneSeq < b.LastDoneSeq;
        if (a.InFlight != b.InFlight && (a.InFlight == 0 || b.InFlight == 0))
            return a.InFlight < b.InFlight;
        return a.LastDoneSeq > b.LastDoneSeq;
    }

    /// <summary>A task was given to <paramref name="actor"/>: its busy time starts when it goes from no task to one.</summary>
    public void Begin(PoolActor actor, long nowTicks)
    {
        Unindex(actor);
        InFlight++;
        if (actor.InFlight++ == 0) actor.BusySinceTicks = nowTicks;
        Index(actor);
    }

    private void Unindex(PoolActor actor)
    {
        if (actor.InFlight == 0) _idle.Remove(actor);
        else _partial.Remove(actor);
    }

    private void Index(PoolActor actor)
    {
        if (actor.InFlight == 0) _idle.Add(actor);
        else if (actor.InFlight < options.MaxConcurrency) _partial.Add(actor);
    }

    /// <summary>Tasks in flight on the pool's actors.</summary>
    public int InFlight { get; private set; }

    /// <summary>A task of <paramref name="actor"/> ended.</summary>
    /// <returns>The busy time booked up to now (from its busy start or its previous finish), null if it was not busy.</returns>
    public long? Finished(PoolActor actor, long nowTicks)
    {
        Unindex(actor);
        InFlight--;
        actor.InFlight--;
        actor.TasksDone++;
        actor.LastDoneTicks = nowTicks;
        actor.LastDoneSeq = ++_seq;
        var busy = actor.BusySinceTicks is { } since ? nowTicks - since : (long?)null;
        actor.BusySinceTicks = actor.InFlight > 0 ? nowTicks : null;
        Index(actor);
        return busy;
    }

    /// <summary>How many actors to add for a backlog: as many as it warrants, not one per tick.</summary>
    public ScalingDecision DecideUp(int queuedBlocks, bool upstreamActive, int target)
    {
        var live = Live;
        if (live >= options.Pool.Max) return ScalingDecision.None($"at max {options.Pool.Max}");
        if (live >= target) return ScalingDecision.None($"at target {target}");
        // No actor at all (none fitted until now, e.g. the cluster had no worker yet) with input waiting: one is wanted, whatever the queue's length.
        if (live == 0 && queuedBlocks > 0 && queuedBlocks <= options.MaxConcurrency) return ScalingDecision.Up(1, $"queue {queuedBlocks} blocks and no actor");
        var freeSlots = _actors.Where(a => !a.Stopping).Sum(a => options.MaxConcurrency - a.InFlight);
        if (queuedBlocks <= freeSlots) return ScalingDecision.None($"queue {queuedBlocks} fits {freeSlots} free slots");
        // While upstream still produces, a queue of one block per slot is normal flow, not a backlog.
        var backlog = queuedBlocks - freeSlots;
        if (upstreamActive && backlog < options.MaxConcurrency) return ScalingDecision.None($"queue {queuedBlocks}, backlog {backlog} below one actor's slots");
        var want = Math.Min((backlog + options.MaxConcurrency - 1) / options.MaxConcurrency, Math.Min(options.Pool.Max, target) - live);
        return ScalingDecision.Up(want, $"queue {queuedBlocks} blocks, {freeSlots} free slots");
    }

    /// <summary>Actors idle past the timeout, above min (or all idle ones when no more input comes).</summary>
    public List<PoolActor> IdleToRelease(Func<long, TimeSpan> since, TimeSpan timeout, bool inputExhausted)
    {
        var result = new List<PoolActor>();
        var live = Live;
        var floor = inputExhausted ? 0 : options.Pool.Min;
        // Least recently used first: the MRU policy keeps the hot set busy, the cold tail goes.
        foreach (var a in _actors.Where(a => a.Ready && a.InFlight == 0).OrderBy(a => a.LastDoneSeq))
        {
            if (live - result.Count <= floor) break;
            if (inputExhausted || since(a.LastDoneTicks) >= timeout) result.Add(a);
        }
        return result;
    }
}
