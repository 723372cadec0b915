using Sluice.Contracts;

namespace Sluice.Execution.Budget;

/// <summary>
/// Holds every node's cpus, gpus and memory and never hands out more than a node has. An actor goes
/// to the node with the most of what it asks for still free, so a pool spreads over the nodes.
/// </summary>
/// <remarks>
/// Built for clusters of many nodes: a placement is one pass over the nodes with O(1) checks each (no sort, no
/// allocation), and the lists a snapshot shows (each device's share, the description) are rebuilt only when a grant
/// or a node changed since they were last asked for.
/// </remarks>
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

    private bool Usable(NodeBook b) => _suspectUntil.Count == 0 || !_suspectUntil.TryGetValue(b.Node.Id, out var until) || _time.GetTimestamp() >= until;

    // Bumped by every grant, release and node change: the cached lists below are stale when it moved.
    private long _version;
    private long _listsVersion = -1;
    private IReadOnlyList<double> _deviceUse = [];
    private IReadOnlyList<double> _peakDeviceUse = [];
    private long _describedVersion = -1;
    private string _described = "";

    private void RefreshLists()
    {
        if (_listsVersion == _version) return;
        _deviceUse = _books.SelectMany(b => b.DeviceUsed).ToArray();
        _peakDeviceUse = _books.SelectMany(b => b.PeakDeviceUsed).ToArray();
        _listsVersion = _version;
    }

    /// <summary>The first node (the driver's, or the only one).</summary>
    public NodeResources Node => _books[0].Node.Resources;

    public IReadOnlyList<NodeInfo> Nodes => _books.Select(b => b.Node).ToList();

    public double CpusUsed => _books.Sum(b => b.CpusUsed);

    public double GpusUsed => _books.Sum(b => b.GpusUsed);

    public long MemoryUsed => _books.Sum(b => b.MemoryUsed);

    public double TotalCpus
    {
        get
        {
            RefreshTotals();
            return _totalCpus;
        }
    }

    public double TotalGpus
    {
        get
        {
            RefreshTotals();
            return _totalGpus;
        }
    }

    public bool GpusSimulated => _books.Any(b => b.Node.Resources.GpusSimulated);

    // The nodes' totals, summed again only when a node joined or left (the balancer reads them on every cadence).
    private int _totalsNodes = -1;
    private long _totalsVersion = -1;
    private double _totalCpus;
    private double _totalGpus;

    private void RefreshTotals()
    {
        if (_totalsVersion == _nodesVersion && _totalsNodes == _books.Count) return;
        _totalCpus = 0;
        _totalGpus = 0;
        foreach (var b in _books)
        {
            _totalCpus += b.Node.Resources.Cpus;
            _totalGpus += b.Node.Resources.Gpus;
        }
        _totalsVersion = _nodesVersion;
        _totalsNodes = _books.Count;
    }

    // Bumped when a node joins or leaves.
    private long _nodesVersion;

    /// <summary>Each GPU's allocated share, nodes in order: a copy made when a grant or a node changed, not on every read.</summary>
    public IReadOnlyList<double> DeviceUse
    {
        get
        {
            RefreshLists();
            return _deviceUse;
        }
    }

    /// <summary>The most each device was ever allocated (a check that nothing over-commits).</summary>
    public IReadOnlyList<double> PeakDeviceUse
    {
        get
        {
            RefreshLists();
            return _peakDeviceUse;
        }
    }

    public double PeakCpusUsed { get; private set; }

    /// <remarks>
    /// Asked by every pool on every cadence; a cluster that is full would be scanned each time for the same "no". The
    /// last answer is kept while no grant, release or node change happened since (and no node is suspect: that
    /// answer changes with time alone).
    /// </remarks>
    public bool Fits(ResourceRequest r)
    {
        if (_fitsVersion == _version && _suspectUntil.Count == 0 && Equals(_fitsRequest, r)) return _fitsAnswer;
        var answer = false;
        foreach (var b in _books)
        {
            if (!b.Fits(r) || !Usable(b)) continue;
            answer = true;
            break;
        }
        (_fitsVersion, _fitsRequest, _fitsAnswer) = (_version, r, answer);
        return answer;
    }

    private long _fitsVersion = -1;
    private ResourceRequest? _fitsRequest;
    private bool _fitsAnswer;

    public ResourceGrant? TryAcquire(ResourceRequest r)
    {
        // The node with the most of what the request asks for still free; the first such node on a tie.
        NodeBook? book = null;
        var most = double.NegativeInfinity;
        foreach (var b in _books)
        {
            var free = r.Gpus > 0 ? b.FreeGpus : b.FreeCpus;
            if (free <= most || !b.Fits(r) || !Usable(b)) continue;
            book = b;
            most = free;
        }
        var grant = book?.TryAcquire(r);
        if (grant is null) return null;
        _version++;
        _cpusUsed += r.Cpus;
        PeakCpusUsed = Math.Max(PeakCpusUsed, _cpusUsed);
        return grant;
    }

    // Cpus granted on every node, kept with the grants: the peak is updated on each placement without a pass over the nodes.
    private double _cpusUsed;

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

    public void Release(ResourceGrant grant)
    {
        foreach (var b in _books)
        {
            if (b.Node.Id != grant.Node) continue;
            b.Release(grant);
            _cpusUsed -= grant.Request.Cpus;
            _version++;
            return;
        }
    }

    /// <summary>Matches the books to the runtime's current nodes: joins add capacity, departures drop theirs.</summary>
    /// <remarks>Called on every wake of the loop: the same list as last time costs nothing, another one a pass with a look-up per node.</remarks>
    public void Sync(IReadOnlyList<NodeInfo> nodes)
    {
        if (ReferenceEquals(nodes, _synced)) return;
        var ids = new HashSet<string>(_books.Count, StringComparer.Ordinal);
        foreach (var b in _books) ids.Add(b.Node.Id);
        var same = nodes.Count == _books.Count;
        for (var i = 0; same && i < nodes.Count; i++) same = ids.Contains(nodes[i].Id);
        if (!same)
        {
            foreach (var n in nodes) AddNode(n);
            var current = nodes.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _books.Where(b => !current.Contains(b.Node.Id)).Select(b => b.Node.Id).ToList()) RemoveNode(gone);
        }
        _synced = nodes;
    }

    // The node list last synced with: a runtime that keeps one list until membership changes is checked by reference.
    private IReadOnlyList<NodeInfo>? _synced;

    /// <summary>A node left or died: its books are dropped (its actors are gone with it).</summary>
    public void RemoveNode(string id)
    {
        foreach (var b in _books.Where(b => b.Node.Id == id)) _cpusUsed -= b.CpusUsed;
        _books.RemoveAll(b => b.Node.Id == id);
        _suspectUntil.Remove(id);
        _version++;
        _nodesVersion++;
        _synced = null;
    }

    /// <summary>A node joined: its resources become available.</summary>
    public void AddNode(NodeInfo node)
    {
        if (_books.Any(b => b.Node.Id == node.Id)) return;
        _books.Add(new NodeBook(node));
        _version++;
        _nodesVersion++;
        _synced = null;
    }

    /// <summary>What is in use of what, for progress and errors; made again only when a grant or a node changed.</summary>
    public string Describe()
    {
        if (_describedVersion == _version) return _described;
        _described = $"cpus {CpusUsed:0.##}/{TotalCpus:0.##}, gpus {GpusUsed:0.##}/{TotalGpus:0.##}{(GpusSimulated ? " (simulated)" : "")}" +
            (_books.Count > 1 ? $" on {_books.Count} nodes" : "");
        _describedVersion = _version;
        return _described;
    }
}
