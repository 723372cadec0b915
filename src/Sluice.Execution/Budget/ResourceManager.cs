using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>
/// Holds every node's cpus, gpus and memory and never hands out more than a node has. An actor goes
/// to the node with the most of what it asks for still free, so a pool spreads over the nodes.
/// </summary>
internal sealed class ResourceManager
{
    private readonly List<NodeBook> _books;

    public ResourceManager(NodeResources node)
        : this([new NodeInfo("local", node)])
    {
    }

    /// <summary>
    /// A node where an actor was just lost gets no new actors for this long: until membership drops
    /// it (about a second with fast failure detection, ~12 s with Orleans' defaults) every start
    /// there would fail at once, and its freed resources would draw replacement after replacement.
    /// </summary>
    public static readonly TimeSpan SuspectFor = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, long> _suspectUntil = [];
    private readonly TimeProvider _time;

    public ResourceManager(IReadOnlyList<NodeInfo> nodes, TimeProvider? time = null)
    {
        if (nodes.Count == 0) throw new ArgumentException("a runtime needs at least one node", nameof(nodes));
        _books = nodes.Select(n => new NodeBook(n)).ToList();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>An actor on <paramref name="node"/> was lost: place nothing there for <see cref="SuspectFor"/>.</summary>
    public void Suspect(string node) => _suspectUntil[node] = _time.GetTimestamp() + (long)(SuspectFor.TotalSeconds * _time.TimestampFrequency);

    private bool Usable(NodeBook b) => !_suspectUntil.TryGetValue(b.Node.Id, out var until) || _time.GetTimestamp() >= until;

    /// <summary>The first node (the driver's, or the only one).</summary>
    public NodeResources Node => _books[0].Node.Resources;

    public IReadOnlyList<NodeInfo> Nodes => _books.Select(b => b.Node).ToList();

    public double CpusUsed => _books.Sum(b => b.CpusUsed);

    public double GpusUsed => _books.Sum(b => b.DeviceUsed.Sum());

    public long MemoryUsed => _books.Sum(b => b.MemoryUsed);

    public double TotalCpus => _books.Sum(b => b.Node.Resources.Cpus);

    public double TotalGpus => _books.Sum(b => b.Node.Resources.Gpus);

    public bool GpusSimulated => _books.Any(b => b.Node.Resources.GpusSimulated);

    /// <summary>Each GPU's allocated share, nodes in order.</summary>
    public IReadOnlyList<double> DeviceUse => _books.SelectMany(b => b.DeviceUsed).ToList();

    /// <summary>The most each device was ever allocated (a check that nothing over-commits).</summary>
    public IReadOnlyList<double> PeakDeviceUse => _books.SelectMany(b => b.PeakDeviceUsed).ToList();

    public double PeakCpusUsed { get; private set; }

    public bool Fits(ResourceRequest r) => _books.Any(b => Usable(b) && b.Fits(r));

    public ResourceGrant? TryAcquire(ResourceRequest r)
    {
        var book = _books.Where(b => Usable(b) && b.Fits(r)).OrderByDescending(b => r.Gpus > 0 ? b.FreeGpus : b.FreeCpus).FirstOrDefault();
        var grant = book?.TryAcquire(r);
        if (grant is not null) PeakCpusUsed = Math.Max(PeakCpusUsed, CpusUsed);
        return grant;
    }

    /// <summary>What is granted beyond a node's totals (none, unless the books are wrong): for the loop's invariant check.</summary>
    public IEnumerable<string> OverCommitted()
    {
        foreach (var b in _books)
        {
            if (b.CpusUsed > b.Node.Resources.Cpus + NodeBook.Epsilon || b.CpusUsed < -NodeBook.Epsilon)
                yield return $"node {b.Node.Id}: {b.CpusUsed} cpus granted of {b.Node.Resources.Cpus}";
            for (var d = 0; d < b.DeviceUsed.Length; d++)
            {
                if (b.DeviceUsed[d] > 1 + NodeBook.Epsilon || b.DeviceUsed[d] < -NodeBook.Epsilon)
                    yield return $"node {b.Node.Id}: gpu {d} granted {b.DeviceUsed[d]} of 1";
            }
            foreach (var d in b.DeviceMemory.OverCommitted())
                yield return $"node {b.Node.Id}: gpu {d} holds {b.DeviceMemory.Used[d]} B of device memory, more than its {b.DeviceMemory.DeviceBytes} B";
        }
    }

    public void Release(ResourceGrant grant) => _books.FirstOrDefault(b => b.Node.Id == grant.Node)?.Release(grant);

    /// <summary>Matches the books to the runtime's current nodes: joins add capacity, departures drop theirs.</summary>
    public void Sync(IReadOnlyList<NodeInfo> nodes)
    {
        if (nodes.Count == _books.Count && nodes.All(n => _books.Any(b => b.Node.Id == n.Id))) return;
        foreach (var n in nodes) AddNode(n);
        foreach (var gone in _books.Where(b => nodes.All(n => n.Id != b.Node.Id)).Select(b => b.Node.Id).ToList()) RemoveNode(gone);
    }

    /// <summary>A node left or died: its books are dropped (its actors are gone with it).</summary>
    public void RemoveNode(string id)
    {
        _books.RemoveAll(b => b.Node.Id == id);
        _suspectUntil.Remove(id);
    }

    /// <summary>A node joined: its resources become available.</summary>
    public void AddNode(NodeInfo node)
    {
        if (_books.All(b => b.Node.Id != node.Id)) _books.Add(new NodeBook(node));
    }

    public string Describe() =>
        $"cpus {CpusUsed:0.##}/{TotalCpus:0.##}, gpus {GpusUsed:0.##}/{TotalGpus:0.##}{(GpusSimulated ? " (simulated)" : "")}" +
        (_books.Count > 1 ? $" on {_books.Count} nodes" : "");
}
