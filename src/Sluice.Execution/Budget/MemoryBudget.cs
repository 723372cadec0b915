namespace Sluice.Execution.Budget;

/// <summary>
/// The memory budget for blocks in flight. Bytes are charged to the operator that produced them,
/// from production until the consumer's task finishes. Half the budget is split into a reservation
/// per producing operator, so each can always make progress once its consumer drains it (no
/// deadlock); the other half is a shared pool that operators borrow when their reservation is full —
/// the executor asks downstream operators first, so they borrow first. An operator reserves the
/// largest block it has produced so far before each new block, so used + reserved never exceeds the
/// budget while blocks stay within the size already seen.
/// </summary>
internal sealed class MemoryBudget
{
    private readonly long[] _reservation;
    private readonly long[] _used;
    private readonly long[] _reserved;
    private readonly long[] _estimate;
    private readonly int[] _inFlight;
    private readonly long _shared;
    private readonly Dictionary<string, long> _nodeUsed = [];
    private readonly Func<string, long> _nodeLimit;

    /// <param name="nodeLimit">Each node's own budget for the blocks it holds (in a cluster, blocks stay on the node that made them).</param>
    public MemoryBudget(long total, IReadOnlyList<bool> producesOutput, Func<string, long>? nodeLimit = null)
    {
        Total = total;
        _nodeLimit = nodeLimit ?? (_ => total);
        var producers = Math.Max(1, producesOutput.Count(p => p));
        var n = producesOutput.Count;
        _reservation = new long[n];
        _used = new long[n];
        _reserved = new long[n];
        _estimate = new long[n];
        _inFlight = new int[n];
        var each = total / 2 / producers;
        for (var i = 0; i < n; i++) _reservation[i] = producesOutput[i] ? each : 0;
        _shared = total - each * producers;
    }

    public long Total { get; }

    /// <summary>Bytes of live blocks, all operators.</summary>
    public long UsedBytes { get; private set; }

    /// <summary>The most <see cref="UsedBytes"/> ever was.</summary>
    public long PeakUsedBytes { get; private set; }

    public long UsedBy(int op) => _used[op];

    public long ReservationOf(int op) => _reservation[op];

    /// <param name="inputBytes">The bytes of the block the new task will consume (0 for a read).</param>
    /// <param name="node">The node that will hold the output (an actor's node in a cluster), checked against its own budget.</param>
    /// <remarks>
    /// Progress is guaranteed whatever the budget: an operator with nothing charged, reserved or in flight may always
    /// take one block, even one larger than the budget, and neither the shared pool nor its node's budget can refuse
    /// it. Every operator can therefore always move one block on, so the job never stops at a budget too small for
    /// its blocks; it runs one block at a time per operator instead (memory then peaks at about a block per operator).
    /// </remarks>
    /// <param name="nextInOrder">The block is the one ordered output needs next: always allowed (it is what frees the blocks held for later).</param>
    public BackpressureDecision TryReserve(int op, long inputBytes = 0, string? node = null, bool nextInOrder = false)
    {
        // Until an operator has produced a block, a map's output is assumed to be at most twice its
        // input (a read has no input: it goes one block at a time until its first block is seen).
        var estimate = _estimate[op] > 0 ? _estimate[op] : 2 * inputBytes;
        if (nextInOrder) return Grant(op, estimate, "the next block in order: always allowed, so ordered output cannot stall");
        var mine = _used[op] + _reserved[op];
        if (mine == 0 && _inFlight[op] == 0)
            return Grant(op, estimate, "nothing in flight: progress is always allowed");
        if (estimate == 0)
            return BackpressureDecision.Deny("block size not known yet: one block at a time until the first is seen");
        string reason;
        if (mine + estimate <= _reservation[op]) reason = "within the operator's reservation";
        else
        {
            long borrowedByOthers = 0;
            for (var i = 0; i < _used.Length; i++)
            {
                if (i != op) borrowedByOthers += Math.Max(0, _used[i] + _reserved[i] - _reservation[i]);
            }
            var mineOver = Math.Max(0, mine + estimate - _reservation[op]);
            if (borrowedByOthers + mineOver > _shared)
                return BackpressureDecision.Deny($"output {Mib(mine)} of reservation {Mib(_reservation[op])}, shared pool full");
            reason = "borrowed from the shared pool";
        }
        // The actor's node holds as many blocks as its own budget allows: wait for consumers to fetch them.
        if (node is not null && !NodeHasRoom(node, estimate)) return BackpressureDecision.Deny($"node {node} holds its budget of blocks");
        return Grant(op, estimate, reason);
    }

    /// <summary>A reservation made by <see cref="TryReserve"/> ends: its block arrived or the work produced none.</summary>
    public void EndReservation(int op, long reserved)
    {
        _reserved[op] -= reserved;
        _inFlight[op]--;
    }

    /// <summary>Bytes of live blocks each node holds.</summary>
    public IReadOnlyDictionary<string, long> NodeUsed => _nodeUsed;

    /// <summary>Whether <paramref name="node"/> can hold <paramref name="bytes"/> more of blocks within its own budget.</summary>
    public bool NodeHasRoom(string node, long bytes) => _nodeUsed.GetValueOrDefault(node) + bytes <= _nodeLimit(node) || _nodeUsed.GetValueOrDefault(node) == 0;

    /// <summary>A block produced by <paramref name="op"/> is now live, held by its node.</summary>
    public void Charge(int op, Sluice.Blocks.BlockRef block)
    {
        Charge(op, block.Bytes);
        _nodeUsed[block.Node] = _nodeUsed.GetValueOrDefault(block.Node) + block.Bytes;
    }

    /// <summary>A block produced by <paramref name="op"/> was consumed and freed from its node.</summary>
    public void Release(int op, Sluice.Blocks.BlockRef block)
    {
        Release(op, block.Bytes);
        _nodeUsed[block.Node] = _nodeUsed.GetValueOrDefault(block.Node) - block.Bytes;
    }

    private void Charge(int op, long bytes)
    {
        _used[op] += bytes;
        if (bytes > _estimate[op]) _estimate[op] = bytes;
        UsedBytes += bytes;
        if (UsedBytes > PeakUsedBytes) PeakUsedBytes = UsedBytes;
    }

    private void Release(int op, long bytes)
    {
        _used[op] -= bytes;
        UsedBytes -= bytes;
    }

    private BackpressureDecision Grant(int op, long bytes, string reason)
    {
        _reserved[op] += bytes;
        _inFlight[op]++;
        return BackpressureDecision.Allow(bytes, reason);
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):0.0} MiB";
}
