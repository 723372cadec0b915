using Sluice.Execution;
using Sluice.Execution.Stats;

namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// What the autoscaler remembers between its turns, turned into the planner's <see cref="AutoscaleState"/>: launches
/// asked for and not joined, workers asked to leave, since when each worker has been idle, since when demand has been
/// unmet, and each group's last add. Only the autoscaler's loop touches it.
/// </summary>
internal sealed class AutoscaleBook(AutoscaleOptions options)
{
    private readonly Dictionary<string, List<DateTimeOffset>> _pending = options.Groups.ToDictionary(g => g.Name, _ => new List<DateTimeOffset>(), StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lastAdd = new(StringComparer.Ordinal);
    /// <summary>Joined workers of a group: node id → since when it held no actor (null while it holds some).</summary>
    private readonly Dictionary<string, (string Group, DateTimeOffset? IdleSince)> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _leaving = new(StringComparer.Ordinal);
    private DateTimeOffset? _demandSince;
    private IReadOnlyDictionary<string, int> _actors = new Dictionary<string, int>();
    private IReadOnlyList<ActorDemand> _unmet = [];

    /// <summary>The most workers joined at once, per group.</summary>
    public Dictionary<string, int> Peak { get; } = new(StringComparer.Ordinal);

    /// <summary>Workers asked to leave that are still members.</summary>
    public IReadOnlyCollection<string> Leaving => _leaving;

    /// <summary>Takes in the cluster's nodes and the job's latest numbers; returns the nodes of a group that joined since the last look.</summary>
    public IReadOnlyList<NodeInfo> Observe(IReadOnlyList<NodeInfo> nodes, ExecutionSnapshot snapshot, DateTimeOffset now)
    {
        var ours = nodes.Where(n => n.Group is { } g && _pending.ContainsKey(g)).ToList();
        var joined = ours.Where(n => !_workers.ContainsKey(n.Id)).ToList();
        foreach (var n in joined)
        {
            // The oldest launch of its group has come: it is no longer pending (launches are interchangeable).
            var pending = _pending[n.Group!];
            if (pending.Count > 0) pending.RemoveAt(0);
            _workers[n.Id] = (n.Group!, now);
        }
        foreach (var gone in _workers.Keys.Where(id => ours.All(n => n.Id != id)).ToList())
        {
            _workers.Remove(gone);
            _leaving.Remove(gone);
        }
        foreach (var (id, (group, idleSince)) in _workers.ToList())
        {
            var actors = snapshot.ActorsPerNode.GetValueOrDefault(id);
            _workers[id] = (group, actors > 0 ? null : idleSince ?? now);
        }
        _demandSince = snapshot.Unmet.Count == 0 ? null : _demandSince ?? now;
        foreach (var g in _pending.Keys) Peak[g] = Math.Max(Peak.GetValueOrDefault(g), _workers.Values.Count(w => w.Group == g));
        _actors = snapshot.ActorsPerNode;
        _unmet = snapshot.Unmet;
        return joined;
    }

    public AutoscaleState State(bool jobDone) => new(_unmet, _demandSince, [.. options.Groups.Select(g => new GroupState(g,
        [.. _workers.Where(w => w.Value.Group == g.Name && !_leaving.Contains(w.Key)).OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => new WorkerState(w.Key, _actors.GetValueOrDefault(w.Key), w.Value.IdleSince))],
        [.. _pending[g.Name]], _lastAdd.TryGetValue(g.Name, out var t) ? t : null))], jobDone);

    public void Added(string group, int count, DateTimeOffset now)
    {
        for (var i = 0; i < count; i++) _pending[group].Add(now);
        _lastAdd[group] = now;
    }

    /// <summary>A launch failed or was given up on: the oldest <paramref name="count"/> of the group are no longer awaited.</summary>
    public void Forget(string group, int count) => _pending[group].RemoveRange(0, Math.Min(count, _pending[group].Count));

    public void Removing(IEnumerable<string> nodes) => _leaving.UnionWith(nodes);

    /// <summary>A removal the provider could not do: the workers stay members like the others.</summary>
    public void Kept(IEnumerable<string> nodes) => _leaving.ExceptWith(nodes);
}
