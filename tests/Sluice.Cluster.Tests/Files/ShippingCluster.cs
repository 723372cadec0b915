using Sluice.Inference;

namespace Sluice.Cluster.Tests.Files;

/// <summary>
/// A cluster whose one worker cannot open the driver's files: a real <c>redis-server</c>, a worker process started in an
/// empty working directory with its own <c>--cache-dir</c>, and the driver in the test process. MiniLM is exported into a
/// directory beside the tests and named by a path relative to the driver's working directory, which names nothing from
/// the worker's.
/// </summary>
internal sealed class ShippingCluster : IAsyncDisposable
{
    private readonly RedisServer _redis;
    private readonly string _root;

    private ShippingCluster(RedisServer redis, WorkerProcess worker, OrleansWorkerRuntime runtime, string root, PackagedModelFiles model)
    {
        _redis = redis;
        Worker = worker;
        Runtime = runtime;
        _root = root;
        Model = model;
    }

    public OrleansWorkerRuntime Runtime { get; }

    public WorkerProcess Worker { get; }

    /// <summary>MiniLM's files on the driver, full paths.</summary>
    public PackagedModelFiles Model { get; }

    /// <summary>The worker's working directory: empty.</summary>
    public string WorkerDirectory => Path.Combine(_root, "worker");

    /// <summary>The worker's file cache.</summary>
    public string CacheDirectory => Path.Combine(_root, "cache");

    /// <summary><paramref name="fullPath"/> as the driver's job names it: relative to the driver's working directory.</summary>
    public static string Relative(string fullPath) => Path.GetRelativePath(Environment.CurrentDirectory, fullPath);

    public static async Task<ShippingCluster> StartAsync(params string[] workerArgs)
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var root = Path.Combine(Path.GetTempPath(), $"sluice-jobfiles-{tag}");
        Directory.CreateDirectory(Path.Combine(root, "worker"));
        var model = PackagedModels.ExportMiniLm(Path.Combine(AppContext.BaseDirectory, $"jobfiles-{tag}"));
        var redis = await RedisServer.StartAsync();
        WorkerProcess? worker = null;
        try
        {
            worker = await WorkerProcess.StartAsync(Path.Combine(AppContext.BaseDirectory, "sluice.dll"), redis.Uri, $"w0-{tag}",
                [.. workerArgs, "--cache-dir", Path.Combine(root, "cache"), "--fast-failure-detection"], workingDirectory: Path.Combine(root, "worker"));
            var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{tag}", FastFailureDetection = true });
            try
            {
                await runtime.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
            }
            catch
            {
                await runtime.DisposeAsync();
                throw;
            }
            return new ShippingCluster(redis, worker, runtime, root, model);
        }
        catch
        {
            worker?.Dispose();
            redis.Dispose();
            Directory.Delete(model.Directory, recursive: true);
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>Bytes of job files the worker's cache fetched from the driver so far.</summary>
    public Task<long> WorkerFileBytesAsync() => Runtime.FileBytesFetchedAsync(Worker.NodeId);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Runtime.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Worker.Dispose();
            _redis.Dispose();
            Directory.Delete(Model.Directory, recursive: true);
            Directory.Delete(_root, recursive: true);
        }
    }
}
