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

    // Most-recently-used dispatch without a scan: ready actors with no task, and ready actors with a task and a free
    // slot, each ordered best first (latest finish, then the oldest actor); idle ones also by node, for the node that
    // holds the input. Exactly those actors: every change of an actor's readiness (its handle, stopping) goes through
    // Changing/Changed, and Begin and Finished are the only writers of tasks in flight and of the order's keys.
    private readonly SortedSet<PoolActor> _idle = new(MruOrder.Instance);
    private readonly SortedSet<PoolActor> _partial = new(MruOrder.Instance);
    private readonly Dictionary<string, SortedSet<PoolActor>> _idleOn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perNode = new(StringComparer.Ordinal);
    private int _nextIndex;
    private long _seq;
    private long _placementVersion;

    // Counted as actors change, never by a scan: the loop reads them on every dispatch and snapshot.
    private int _live;
    private int _starting;
    private int _ready;
    private int _liveInFlight;

    public IReadOnlyList<PoolActor> Actors => _actors;

    /// <summary>Actors that are not stopping.</summary>
    public int Live => _live;

    /// <summary>Actors whose start (model load) has not come back, not stopping.</summary>
    public int Starting => _starting;

    public int ReadyCount => _ready;

    /// <summary>Ready actors with no task.</summary>
    public int Idle => _idle.Count;

    /// <summary>Task slots of the actors that are not stopping, less their tasks in flight (starting actors' slots included).</summary>
    public int FreeSlots => _live * options.MaxConcurrency - _liveInFlight;

    /// <summary>The pool's actors per node (starting and stopping ones included); a node without any is absent.</summary>
    public IReadOnlyDictionary<string, int> ActorsPerNode => _perNode;

    /// <summary>Changes whenever <see cref="ActorsPerNode"/> does: a snapshot copies it only then.</summary>
    public long PlacementVersion => _placementVersion;

    public ResourceRequest Resources => resources;

    /// <summary>Actors with no task: ready idle ones and starting ones (not stopping), from the counters, no scan.</summary>
    public int WithoutTask => _idle.Count + _starting;

    public PoolActor Add(ResourceGrant grant, long nowTicks)
    {
        var actor = new PoolActor(_nextIndex++, grant, nowTicks, this);
        _actors.Add(actor);
        actor.InPool = true;
        _perNode[grant.Node] = _perNode.GetValueOrDefault(grant.Node) + 1;
        _placementVersion++;
        Changed(actor);
        return actor;
    }

    public void Remove(PoolActor actor)
    {
        if (!actor.InPool) return;
        Changing(actor);
        actor.InPool = false;
        _actors.Remove(actor);
        var left = _perNode[actor.Grant.Node] - 1;
        if (left == 0) _perNode.Remove(actor.Grant.Node);
        else _perNode[actor.Grant.Node] = left;
        _placementVersion++;
    }

    /// <summary>An actor's readiness or load is about to change: it leaves the counts and the dispatch sets.</summary>
    internal void Changing(PoolActor actor)
    {
        if (!actor.InPool) return;
        Count(actor, -1);
        if (!actor.Ready) return;
        if (actor.InFlight == 0)
        {
            _idle.Remove(actor);
            _idleOn[actor.Grant.Node].Remove(actor);
        }
        else
        {
            _partial.Remove(actor);
        }
    }

    /// <summary>An actor's readiness or load changed: it enters the counts and the dispatch sets as it is now.</summary>
    internal void Changed(PoolActor actor)
    {
        if (!actor.InPool) return;
        Count(actor, +1);
        if (!actor.Ready) return;
        if (actor.InFlight == 0)
        {
            _idle.Add(actor);
            if (!_idleOn.TryGetValue(actor.Grant.Node, out var onNode)) _idleOn[actor.Grant.Node] = onNode = new SortedSet<PoolActor>(MruOrder.Instance);
            onNode.Add(actor);
        }
        else if (actor.InFlight < options.MaxConcurrency)
        {
            _partial.Add(actor);
        }
    }

    private void Count(PoolActor actor, int sign)
    {
        if (actor.Stopping) return;
        _live += sign;
        _liveInFlight += sign * actor.InFlight;
        if (actor.Handle is null) _starting += sign;
        else _ready += sign;
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

    /// <summary><see cref="Pick"/> for most-recently-used, from the ordered sets in O(log actors): the same choice as a scan with <see cref="Better"/>.</summary>
    private PoolActor? PickMostRecentlyUsed(string? preferNode)
    {
        if (preferNode is not null && _idleOn.TryGetValue(preferNode, out var local) && local.Count > 0) return local.Min;
        if (_idle.Count > 0) return _idle.Min;
        return _partial.Count > 0 ? _partial.Min : null;
    }

    /// <summary>
    /// An idle actor for a backup copy of <paramref name="original"/>'s task: not that actor, on another node where
    /// one is idle (a stuck node must not hold both copies), never on a suspected node; most-recently-used first.
    /// </summary>
    public PoolActor? PickBackup(PoolActor original, NodeSuspicion? suspicion)
    {
        PoolActor? sameNode = null;
        foreach (var a in _idle)
        {
            if (ReferenceEquals(a, original) || suspicion?.IsSuspected(a.Grant.Node) == true) continue;
            if (a.Grant.Node != original.Grant.Node) return a;
            sameNode ??= a;
        }
        return sameNode;
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
        Changing(actor);
        InFlight++;
        if (actor.InFlight++ == 0) actor.BusySinceTicks = nowTicks;
        Changed(actor);
    }

    /// <summary>Tasks in flight on the pool's actors.</summary>
    public int InFlight { get; private set; }

    /// <summary>A task of <paramref name="actor"/> ended.</summary>
    /// <returns>The busy time booked up to now (from its busy start or its previous finish), null if it was not busy.</returns>
    public long? Finished(PoolActor actor, long nowTicks)
    {
        Changing(actor);
        InFlight--;
        actor.InFlight--;
        actor.TasksDone++;
        actor.LastDoneTicks = nowTicks;
        actor.LastDoneSeq = ++_seq;
        var busy = actor.BusySinceTicks is { } since ? nowTicks - since : (long?)null;
        actor.BusySinceTicks = actor.InFlight > 0 ? nowTicks : null;
        Changed(actor);
        return busy;
    }

    /// <summary>
    /// How many actors to add while input may still come: back up to min, and for a backlog as many as it warrants, not
    /// one per tick.
    /// </summary>
    /// <remarks>
    /// Below min while input may still come, the pool lost or retired actors: idle release and rebalancing stop at min (only
    /// the input's end releases every idle actor, and a block lost after it, read again, brings the pool back up). The
    /// replacements cannot wait for a backlog: the lost actor's task is usually taken at once by a survivor, so no queue
    /// builds, and a reader no faster than the survivors never builds one; the pool would run below its min to the end.
    /// </remarks>
    public ScalingDecision DecideUp(int queuedBlocks, bool upstreamActive, int target)
    {
        var live = Live;
        if (live >= options.Pool.Max) return ScalingDecision.None($"at max {options.Pool.Max}");
        var byBacklog = DecideForBacklog(queuedBlocks, upstreamActive, target, live);
        var toMin = options.Pool.Min - live;
        return toMin > byBacklog.Delta ? ScalingDecision.Up(toMin, $"{live} live, below min {options.Pool.Min}") : byBacklog;
    }

    private ScalingDecision DecideForBacklog(int queuedBlocks, bool upstreamActive, int target, int live)
    {
        if (live >= target) return ScalingDecision.None($"at target {target}");
        // No actor at all (none fitted until now, e.g. the cluster had no worker yet) with input waiting: one is wanted, whatever the queue's length.
        if (live == 0 && queuedBlocks > 0 && queuedBlocks <= options.MaxConcurrency) return ScalingDecision.Up(1, $"queue {queuedBlocks} blocks and no actor");
        var freeSlots = FreeSlots;
        if (queuedBlocks <= freeSlots) return ScalingDecision.None($"queue {queuedBlocks} fits {freeSlots} free slots");
        // While upstream still produces, a queue of one block per slot is normal flow, not a backlog.
        var backlog = queuedBlocks - freeSlots;
        if (upstreamActive && backlog < options.MaxConcurrency) return ScalingDecision.None($"queue {queuedBlocks}, backlog {backlog} below one actor's slots");
        var want = Math.Min((backlog + options.MaxConcurrency - 1) / options.MaxConcurrency, Math.Min(options.Pool.Max, target) - live);
        return ScalingDecision.Up(want, $"queue {queuedBlocks} blocks, {freeSlots} free slots");
    }

    /// <summary>Actors idle past the timeout, above min (or all idle ones when no more input comes).</summary>
    /// <remarks>From the idle set, least recently used first: O(idle actors looked at), no scan of the pool and no sort.</remarks>
    public List<PoolActor> IdleToRelease(Func<long, TimeSpan> since, TimeSpan timeout, bool inputExhausted)
    {
        var result = new List<PoolActor>();
        var floor = inputExhausted ? 0 : options.Pool.Min;
        if (_live <= floor) return result;
        // Least recently used first: the MRU policy keeps the hot set busy, the cold tail goes.
        foreach (var a in _idle.Reverse())
        {
            if (_live - result.Count <= floor) break;
            if (inputExhausted || since(a.LastDoneTicks) >= timeout) result.Add(a);
        }
        return result;
    }

    /// <summary>The counts and dispatch sets against a scan of the actors: what is wrong, for the loop's invariant check.</summary>
    internal IEnumerable<string> Check()
    {
        var live = _actors.Where(a => !a.Stopping).ToList();
        if (live.Count != _live) yield return $"{_live} live actors counted, {live.Count} found";
        if (live.Count(a => a.Handle is null) != _starting) yield return $"{_starting} starting actors counted, {live.Count(a => a.Handle is null)} found";
        if (_actors.Count(a => a.Ready) != _ready) yield return $"{_ready} ready actors counted, {_actors.Count(a => a.Ready)} found";
        if (live.Sum(a => a.InFlight) != _liveInFlight) yield return $"{_liveInFlight} tasks counted on live actors, {live.Sum(a => a.InFlight)} found";
        var idle = _actors.Where(a => a.Ready && a.InFlight == 0).ToHashSet();
        if (!idle.SetEquals(_idle) || _idleOn.Values.Sum(s => s.Count) != idle.Count) yield return $"{_idle.Count} actors indexed idle, {idle.Count} are";
        var partial = _actors.Where(a => a.Ready && a.InFlight > 0 && a.InFlight < options.MaxConcurrency).ToHashSet();
        if (!partial.SetEquals(_partial)) yield return $"{_partial.Count} actors indexed with a free slot, {partial.Count} have one";
        if (_perNode.Values.Sum() != _actors.Count) yield return $"{_perNode.Values.Sum()} actors counted per node, {_actors.Count} in the pool";
    }
}
