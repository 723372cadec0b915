namespace Sluice.Cluster.Tests.Support;

/// <summary>
/// A real cluster on loopback, shared by the tests of <see cref="ClusterCollection"/>: a real
/// <c>redis-server</c>, two real worker processes (2 cpus, 2 simulated GPUs each) and the driver's
/// runtime (its own silo) in the test process.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private RedisServer? _redis;
    private readonly List<WorkerProcess> _workers = [];

    public OrleansWorkerRuntime Runtime { get; private set; } = null!;

    internal IReadOnlyList<WorkerProcess> Workers => _workers;

    /// <summary>The cluster's Redis, for a test that starts another node (e.g. a second driver: another job).</summary>
    internal string RedisUri => _redis!.Uri;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var tag = Guid.NewGuid().ToString("N")[..6];
        var started = await Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
            WorkerProcess.StartAsync(_redis.Uri, $"w{i}-{tag}", "--cpus", "2", "--sim-gpus", "2", "--memory", "2GiB", "--fast-failure-detection")));
        _workers.AddRange(started);
        Runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions
        {
            Redis = _redis.Uri,
            NodeId = $"driver-{tag}",
            FastFailureDetection = true,
        });
        await Runtime.WaitForWorkersAsync(2, TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        if (Runtime is not null) await Runtime.DisposeAsync();
        foreach (var w in _workers) w.Dispose();
        _redis?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster (real redis-server, real worker processes)";
}
