using System.Collections.Concurrent;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// The drivers' jobs a worker serves: which driver node runs each job (a drain hands that job's blocks to it) and which
/// actors each job holds here (released when its driver is gone). A job whose driver is gone is <see cref="IsGone"/>:
/// what its actors still make is freed at once, and no new actor of it starts.
/// </summary>
internal sealed class NodeJobs
{
    private readonly ConcurrentDictionary<string, string> _drivers = new();
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _actors = new();
    private readonly ConcurrentDictionary<string, byte> _gone = new();

    /// <summary>Job <paramref name="job"/> is run by driver node <paramref name="driver"/> (learnt from its actors' start).</summary>
    public void Seen(string job, string driver) => _drivers.TryAdd(job, driver);

    /// <summary>The driver node of <paramref name="job"/>, or null when no actor of it told this node.</summary>
    public string? DriverOf(string job) => _drivers.GetValueOrDefault(job);

    /// <summary>The jobs with their drivers, as known now.</summary>
    public IReadOnlyList<(string Job, string Driver)> Drivers() => [.. _drivers.Select(kv => (kv.Key, kv.Value))];

    public void ActorStarted(string job, string key) => _actors.GetOrAdd(job, _ => new()).TryAdd(key, 0);

    public void ActorEnded(string job, string key)
    {
        if (_actors.TryGetValue(job, out var keys)) keys.TryRemove(key, out _);
    }

    /// <summary>The keys of <paramref name="job"/>'s actors that hold a processor on this node.</summary>
    public IReadOnlyList<string> ActorsOf(string job) => _actors.TryGetValue(job, out var keys) ? [.. keys.Keys] : [];

    /// <summary>Actors on this node that hold a processor, over every job.</summary>
    public int Actors => _actors.Values.Sum(k => k.Count);

    public bool IsGone(string job) => _gone.ContainsKey(job);

    /// <summary>The job's driver is gone: from now on nothing of the job is kept. False when it was marked already.</summary>
    public bool MarkGone(string job) => _gone.TryAdd(job, 0);

    /// <summary>Forgets a gone job's driver once its actors and blocks are released (the gone mark stays: late outputs are freed).</summary>
    public void Forget(string job)
    {
        _drivers.TryRemove(job, out _);
        if (_actors.TryGetValue(job, out var keys) && keys.IsEmpty) _actors.TryRemove(job, out _);
    }
}
