using System.Collections.Concurrent;
using Sluice.Blocks;
using Sluice.Cluster.Files;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// This process as a cluster node: its id, what it offers, its block store and its simulated devices.
/// One per silo, shared by the grains it hosts and (on the driver) by the worker runtime.
/// </summary>
internal sealed class ClusterNode
{
    private readonly ConcurrentDictionary<Guid, long> _held = new();

    /// <summary>The job of each block this node's actors made (a worker serves blocks of several drivers' jobs).</summary>
    private readonly ConcurrentDictionary<Guid, string> _jobs = new();
    private long _bytesFetched;
    private int _tasksInFlight;
    private volatile bool _draining;
    private volatile bool _joined;

    /// <param name="cacheDirectory">Where job files sent by drivers are kept; null = <see cref="FileCache.DefaultDirectory"/>.</param>
    public ClusterNode(string id, NodeResources resources, int chunkBytes, ProcessorRegistry processors, string? job = null, string? cacheDirectory = null)
    {
        Files = new FileCache(cacheDirectory ?? FileCache.DefaultDirectory());
        Id = id;
        Job = job;
        Processors = processors;
        Resources = resources;
        ChunkBytes = chunkBytes;
        // The node's blocks and the runner of its light tasks: the embedded runtime's code, naming this node in its refs.
        Local = new LocalWorkerRuntime(resources, id);
        // Each worker owns its simulated devices: actors placed here share them, as on a real machine.
        Simulated = resources.GpusSimulated ? new SimulatedDevices(resources.GpuCount) : null;
    }

    public string Id { get; }

    /// <summary>On a driver, its job (run id): every block in its own store belongs to it. Null on a worker.</summary>
    public string? Job { get; }

    /// <summary>The only processor types actors on this node are built from.</summary>
    public ProcessorRegistry Processors { get; }

    public NodeResources Resources { get; }

    public int ChunkBytes { get; }

    public LocalWorkerRuntime Local { get; }

    public SimulatedDevices? Simulated { get; }

    /// <summary>Job files sent by drivers to this node's actors, fetched once per node (<see cref="FileCache"/>).</summary>
    public FileCache Files { get; }

    /// <summary>On a driver, the files its job sends to workers: the only files of its disk other nodes may read.</summary>
    public JobFileSources Sources { get; } = new();

    /// <summary>On a worker, the drivers' jobs it serves: their driver nodes and their actors here.</summary>
    public NodeJobs Jobs { get; } = new();

    /// <summary>On a driver, its job's blocks that draining workers handed to it.</summary>
    public Blocks.HandedBlocks Handed { get; } = new();

    /// <summary>Arrow IPC streams of blocks being sent to other nodes, kept until their last chunk is read (or the block is freed).</summary>
    public ConcurrentDictionary<Guid, Lazy<byte[]?>> Streams { get; } = new();

    /// <summary>Bytes this node fetched from other nodes' stores.</summary>
    public long BytesFetched => Interlocked.Read(ref _bytesFetched);

    public void CountFetched(long bytes) => Interlocked.Add(ref _bytesFetched, bytes);

    /// <summary>The node is leaving gracefully: its actors refuse new tasks and new actors; its store still serves.</summary>
    public bool Draining => _draining;

    /// <summary>Tasks its actors accepted and have not finished.</summary>
    public int TasksInFlight => Volatile.Read(ref _tasksInFlight);

    /// <summary>Blocks this node's actors made that no consumer has freed yet.</summary>
    public int HeldBlocks => _held.Count;

    /// <summary>Bytes of <see cref="HeldBlocks"/>.</summary>
    public long HeldBytes => _held.Values.Sum();

    public void StartDraining() => _draining = true;

    /// <summary>The node is an active member of the cluster (its silo finished joining) and has not begun to leave.</summary>
    public bool Joined => _joined;

    public void MarkJoined() => _joined = true;

    public void MarkLeaving() => _joined = false;

    /// <summary>
    /// Admits a task unless the node is draining. Counts first and checks after, so a drain that sees no task in
    /// flight cannot miss one admitted at the same moment.
    /// </summary>
    public bool TryBeginTask()
    {
        Interlocked.Increment(ref _tasksInFlight);
        if (!_draining) return true;
        Interlocked.Decrement(ref _tasksInFlight);
        return false;
    }

    public void EndTask() => Interlocked.Decrement(ref _tasksInFlight);

    /// <summary>Keeps an actor's output in the store until a consumer frees it (a drain waits for that).</summary>
    public BlockRef Keep(Block block, string job)
    {
        var r = Local.Put(block);
        _jobs[r.Id] = job;
        _held[r.Id] = r.Bytes;
        // A task of a job whose driver is gone ended after its actors were released: nobody will free its output.
        if (Jobs.IsGone(job)) Release(r.Id);
        return r;
    }

    /// <summary>
    /// Whether a reader of <paramref name="job"/> may read or free <paramref name="blockId"/>: only the job that made it. A block
    /// a worker does not hold (freed) is no one's: the read finds it missing, as before.
    /// </summary>
    public bool Serves(Guid blockId, string job) =>
        _jobs.TryGetValue(blockId, out var owner) ? owner == job : Job is null || Job == job;

    /// <summary>A consumer freed one of this node's blocks.</summary>
    public void Release(Guid blockId)
    {
        Local.Free(new BlockRef(blockId, Id, 0, 0, default));
        _held.TryRemove(blockId, out _);
        _jobs.TryRemove(blockId, out _);
        Streams.TryRemove(blockId, out _);
    }

    /// <summary>Whether this node still holds block <paramref name="blockId"/> (no consumer freed it).</summary>
    public bool Holds(Guid blockId) => _held.ContainsKey(blockId);

    /// <summary>The blocks this node holds now: id, job and bytes.</summary>
    public IReadOnlyList<(Guid Id, string Job, long Bytes)> HeldList() =>
        [.. _held.Select(kv => (kv.Key, _jobs.GetValueOrDefault(kv.Key) ?? "", kv.Value))];

    /// <summary>Frees every block of <paramref name="job"/> this node holds (its driver is gone); returns how many and their bytes.</summary>
    public (int Blocks, long Bytes) ReleaseJob(string job)
    {
        var (count, bytes) = (0, 0L);
        foreach (var (id, owner, size) in HeldList())
        {
            if (owner != job) continue;
            Release(id);
            (count, bytes) = (count + 1, bytes + size);
        }
        return (count, bytes);
    }
}
