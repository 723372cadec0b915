using System.Globalization;

namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// The <c>local</c> provider: each worker is a <c>sluice worker</c> process on this machine, started in the current
/// directory (where the job's relative paths point) and stopped with SIGTERM, so it drains before it leaves. Each
/// worker's output goes to <c>{LogDirectory}/{node id}.log</c>. Disposing stops every worker it started.
/// </summary>
/// <remarks>
/// The Redis password never reaches a command line (where <c>ps</c> shows it): a worker gets the address without it and
/// the password in its environment (<c>SLUICE_REDIS_PASSWORD</c>); logs show the masked address.
/// </remarks>
public sealed class LocalWorkerProvider : IWorkerProvider
{
    private readonly string _sluiceDll;
    private readonly ClusterNodeOptions _cluster;
    private readonly RedisAddress _redis;
    private readonly Action<string> _log;
    private readonly TimeSpan _stopTimeout;
    private readonly Dictionary<string, LocalWorker> _workers = new(StringComparer.Ordinal);
    private readonly List<Task> _stopping = [];
    private int _seq;

    /// <param name="sluiceDll">The <c>sluice.dll</c> to start workers from (<c>dotnet sluice.dll worker …</c>): the driver's own.</param>
    /// <param name="cluster">The driver's cluster options: its Redis (and password), TLS and failure detection go to every worker.</param>
    /// <param name="logDirectory">Where each worker's output goes; null = a new directory under the system's temp directory.</param>
    /// <param name="log">Hears what the provider does (starts, stops, where the logs are).</param>
    /// <param name="stopTimeout">How long a stopped worker may drain before it is killed; null = its drain timeout (60 s) and a margin to leave.</param>
    public LocalWorkerProvider(string sluiceDll, ClusterNodeOptions cluster, string? logDirectory = null, Action<string>? log = null, TimeSpan? stopTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(sluiceDll);
        ArgumentNullException.ThrowIfNull(cluster);
        if (!File.Exists(sluiceDll)) throw new SluiceException($"autoscale provider local: '{sluiceDll}' does not exist; it starts workers with `dotnet sluice.dll worker`");
        _sluiceDll = sluiceDll;
        _cluster = cluster;
        _redis = RedisAddress.Resolve(cluster.Redis, cluster.RedisPasswordFile, caFile: cluster.RedisCaFile);
        _log = log ?? (_ => { });
        _stopTimeout = stopTimeout ?? cluster.DrainTimeout + TimeSpan.FromSeconds(30);
        LogDirectory = logDirectory ?? Path.Combine(Path.GetTempPath(), $"sluice-workers-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
        Directory.CreateDirectory(LogDirectory);
    }

    public string Name => "local";

    /// <summary>The directory holding one <c>{node id}.log</c> per worker started.</summary>
    public string LogDirectory { get; }

    /// <summary>The workers started and still running (node ids).</summary>
    public IReadOnlyList<string> Running
    {
        get
        {
            lock (_workers) return [.. _workers.Values.Where(w => !w.HasExited).Select(w => w.NodeId)];
        }
    }

    public Task AddAsync(WorkerGroup group, int count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var id = $"{group.Name}-{Interlocked.Increment(ref _seq).ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..6]}";
            var log = Path.Combine(LogDirectory, id + ".log");
            var worker = LocalWorker.Start(_sluiceDll, WorkerArgs(group, id), _redis.Password, log, id, (w, code) =>
            {
                // Not asked to stop: it crashed or was refused (bad flags, a Redis it cannot reach). The autoscaler gives up on
                // a launch that never joins after launch_timeout; this says why sooner.
                if (!w.Terminated) _log($"local provider: worker {w.NodeId} exited ({code}) without being asked to; see {log}");
            });
            lock (_workers) _workers[id] = worker;
            _log($"local provider: started worker {id} (pid {worker.Pid}) of group {group.Name} on {_redis}; its output: {log}");
        }
        return Task.CompletedTask;
    }

    public Task RemoveAsync(WorkerGroup group, IReadOnlyList<string> nodeIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nodeIds);
        foreach (var id in nodeIds)
        {
            LocalWorker? worker;
            lock (_workers) _workers.TryGetValue(id, out worker);
            if (worker is null)
            {
                _log($"local provider: worker {id} was not started here; it is left alone");
                continue;
            }
            Stop(worker);
        }
        return Task.CompletedTask;
    }

    /// <summary>SIGTERM (the worker drains, then leaves), and a watch that kills it if it is still running after the stop timeout.</summary>
    private void Stop(LocalWorker worker)
    {
        if (!worker.Terminate()) return;
        _log($"local provider: asked worker {worker.NodeId} (pid {worker.Pid}) to drain and leave (SIGTERM)");
        lock (_stopping) _stopping.Add(WatchAsync(worker));
    }

    private async Task WatchAsync(LocalWorker worker)
    {
        if (await worker.WaitForExitAsync(_stopTimeout).ConfigureAwait(false) is { } code)
        {
            _log($"local provider: worker {worker.NodeId} exited ({code})");
            return;
        }
        _log($"local provider: worker {worker.NodeId} still running {_stopTimeout.TotalSeconds:0}s after SIGTERM: killed");
        worker.Kill();
    }

    internal List<string> WorkerArgs(WorkerGroup group, string id)
    {
        var inv = CultureInfo.InvariantCulture;
        var scheme = _redis.Tls ? "rediss" : "redis";
        var redis = _redis.User is null ? $"{scheme}://{_redis.Host}:{_redis.Port.ToString(inv)}" : $"{scheme}://{Uri.EscapeDataString(_redis.User)}:@{_redis.Host}:{_redis.Port.ToString(inv)}";
        var args = new List<string> { "worker", "--cluster", redis, "--node-id", id, "--group", group.Name, "--cpus", group.Cpus.ToString("R", inv) };
        if (group.SimulatedGpus) args.AddRange(["--sim-gpus", ((int)Math.Ceiling(group.Gpus)).ToString(inv)]);
        else args.AddRange(["--gpus", group.Gpus.ToString("R", inv)]);
        if (group.Memory > 0) args.AddRange(["--memory", group.Memory.ToString(inv)]);
        // A group may promise more than this machine has (the file says so explicitly); the worker refuses that unless told.
        if (group.Cpus > Environment.ProcessorCount || group.Memory > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) args.Add("--allow-oversubscribe");
        if (_cluster.FastFailureDetection) args.Add("--fast-failure-detection");
        if (_redis.CaFile is { } redisCa) args.AddRange(["--redis-ca", Path.GetFullPath(redisCa)]);
        if (_cluster.Tls is { } tls) args.AddRange(["--tls-ca", tls.CaCertificate, "--tls-cert", tls.NodeCertificate]);
        args.AddRange(group.Args);
        return args;
    }

    /// <summary>Stops every worker still running (SIGTERM, then a kill after the stop timeout) and waits for all of them.</summary>
    public async ValueTask DisposeAsync()
    {
        List<LocalWorker> all;
        lock (_workers) all = [.. _workers.Values];
        foreach (var w in all.Where(w => !w.HasExited)) Stop(w);
        Task[] watches;
        lock (_stopping) watches = [.. _stopping];
        await Task.WhenAll(watches).ConfigureAwait(false);
        foreach (var w in all) w.Dispose();
    }
}
