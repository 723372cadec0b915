using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.Plan;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// Real separate hosts: each worker runs in its own network namespace (its own address, its own loopback), joined to
/// the driver's side by a veth pair on a bridge, addresses from 198.18.0.0/15 (set aside for benchmarks, never routed).
/// Needs root and iproute2; CI runs as root. SLUICE_SKIP_NETNS=1 skips it where namespaces cannot be made.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class NetworkNamespaceTests(ITestOutputHelper output)
{
    private const long Rows = 2000;
    private const int Workers = 2;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Job_OnWorkersInTheirOwnNetworkNamespaces_WritesTheEmbeddedOutput()
    {
        if (SkipOrFail()) return;
        static Dataset Job() => SimulatedJob.Build(Rows, blockRows: 100, perRowMs: 1, new PoolSize(1, 2), new PoolSize(1, 2));
        var embeddedDir = SimulatedJob.TempDir("netns-embedded");
        var clusterDir = SimulatedJob.TempDir("netns-cluster");
        try
        {
            await Job().WriteAsync(Sinks.Parquet(embeddedDir),
                new ExecutionOptions { Resources = new NodeResources(Workers, 0, 2L << 30).WithSimulatedGpus(Workers), WriteMode = WriteMode.Overwrite }).WaitAsync(Limit);

            await using var cluster = await NamespacedCluster.StartAsync(Workers, output, "--cpus", "1", "--sim-gpus", "1", "--memory", "1GiB");
            var log = new CollectingLogger();
            try
            {
                await Job().WriteAsync(Sinks.Parquet(clusterDir), new ExecutionOptions { Runtime = cluster.Driver, WriteMode = WriteMode.Overwrite, LoggerFactory = log }).WaitAsync(Limit);
            }
            catch (Exception e)
            {
                Assert.Fail($"the job failed across namespaces: {e}{Environment.NewLine}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}");
            }

            var expected = await JobOutput.ReadSortedAsync(embeddedDir, "pid");
            var actual = await JobOutput.ReadSortedAsync(clusterDir, "pid");
            Assert.Equal(Enumerable.Range(0, (int)Rows).Select(i => (long)i), expected.Select(r => r.Id));
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
                Assert.True(expected[i] == actual[i], $"row {i}: embedded {expected[i]}, across namespaces {actual[i]}");
            // annotate ran in the namespaced workers (its pid column), none on the driver's side.
            var pids = await JobOutput.DistinctInt32Async(clusterDir, "pid");
            var workerPids = cluster.Workers.Select(w => w.Pid).ToHashSet();
            output.WriteLine($"pids in the output [{string.Join(", ", pids)}], workers [{string.Join(", ", workerPids)}]");
            Assert.NotEmpty(pids);
            Assert.True(pids.IsSubsetOf(workerPids), $"pids [{string.Join(", ", pids)}] are not all those of the namespaced workers [{string.Join(", ", workerPids)}]");
        }
        finally
        {
            Delete(embeddedDir, clusterDir);
        }
    }

    [Fact]
    public async Task WorkerKilledMidJob_InItsNamespace_OutputHasEveryRowExactlyOnce()
    {
        if (SkipOrFail()) return;
        // 3 namespaced workers x (1 cpu, 2 simulated GPUs); pools below the cluster's size, so lost actors are replaced
        // on the survivors. 6000 rows x 3 ms on 4 devices: a few seconds of device time, long enough to kill mid-job.
        const long rows = 6000;
        await using var cluster = await NamespacedCluster.StartAsync(3, output, "--cpus", "1", "--sim-gpus", "2", "--memory", "1GiB");
        var doomed = cluster.Workers[0];
        var dir = SimulatedJob.TempDir("netns-kill");
        var log = new CollectingLogger();
        try
        {
            var job = JobExecution.Start(SimulatedJob.Build(rows, 100, perRowMs: 3, new PoolSize(1, 4), new PoolSize(1, 2)), Sinks.Parquet(dir),
                new ExecutionOptions { Runtime = cluster.Driver, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
            string Context() => $"{Environment.NewLine}snapshot: {JobOutput.Describe(job.Snapshot)}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}";
            await KillMidJobAsync(job, doomed, blocks: 5, TimeSpan.FromSeconds(90), Context);

            var ids = (await JobOutput.ReadSortedAsync(dir, "pid")).Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, (int)rows).Select(i => (long)i)), $"output ids are not 0..{rows - 1} exactly once: {JobOutput.Diff(ids, rows)}{Context()}");
            Assert.True(File.Exists(Path.Combine(dir, "_SUCCESS")), $"no _SUCCESS marker{Context()}");
            Assert.DoesNotContain(cluster.Driver.Nodes, n => n.Id == doomed.NodeId);
            output.WriteLine($"killed {doomed.NodeId} (pid {doomed.Pid}); task retries {job.Snapshot.Operators.Sum(o => o.TaskRetries)}");
        }
        finally
        {
            Delete(dir);
        }
    }

    [Fact]
    public async Task MiniLmJob_ModelOnTheDriversSideOnly_WorkerKilledMidJob_OutputEqualsTheEmbeddedRun()
    {
        if (SkipOrFail()) return;
        // A real MiniLM job (tokenize → embed, mean pooling) across 2 namespaced workers. The model and vocabulary lie in a
        // directory only the driver sees (each worker has an empty tmpfs over it), so they reach the workers only by the
        // driver shipping them into each worker's file cache. One worker is killed mid-job: every row still lands once,
        // and every embedding equals the embedded run's.
        const int rows = 1600;
        var models = SimulatedJob.TempDir("netns-models");
        var caches = SimulatedJob.TempDir("netns-caches");
        var embeddedDir = SimulatedJob.TempDir("netns-minilm-embedded");
        var clusterDir = SimulatedJob.TempDir("netns-minilm-cluster");
        try
        {
            var files = PackagedModels.ExportMiniLm(models);
            Dataset Job() => Dataset.FromItems(Enumerable.Range(0, rows).Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
                {
                    ["id"] = (long)i,
                    ["text"] = $"sentence {i}: the {(i % 7 == 0 ? "quick brown fox" : "slow river")} crosses {i % 13} fields near {i * 31 % 97} old bridges",
                }), new ReadOptions { BlockRows = 100 })
                .MapBatches<BertTokenizeProcessor, BertTokenizeOptions>(new(files.Vocab), new MapBatchesOptions { Name = "tokenize", Resources = new ResourceRequest(Cpus: 1), Pool = new PoolSize(1, 2) })
                .MapBatches<OnnxProcessor, OnnxOptions>(new(files.Model) { Pooling = Pooling.Mean, IntraOpThreads = 1 },
                    new MapBatchesOptions { Name = "embed", BatchSize = 32, Resources = new ResourceRequest(Cpus: 1), Pool = new PoolSize(1, 2) });

            await Job().WriteAsync(Sinks.Parquet(embeddedDir), new ExecutionOptions { Resources = new NodeResources(4, 0, 4L << 30), WriteMode = WriteMode.Overwrite }).WaitAsync(Limit);

            await using var cluster = await NamespacedCluster.StartAsync(2, output, ["--cpus", "2", "--memory", "2GiB"],
                i => ["--cache-dir", Path.Combine(caches, $"w{i}")], hidden: models);
            var doomed = cluster.Workers[0];
            var survivor = cluster.Workers[1];
            var log = new CollectingLogger();
            var job = JobExecution.Start(Job(), Sinks.Parquet(clusterDir), new ExecutionOptions { Runtime = cluster.Driver, WriteMode = WriteMode.Overwrite, LoggerFactory = log });
            string Context() => $"{Environment.NewLine}snapshot: {JobOutput.Describe(job.Snapshot)}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}";
            await KillMidJobAsync(job, doomed, blocks: 3, TimeSpan.FromSeconds(150), Context);

            var expected = await Embeddings(embeddedDir);
            var actual = await Embeddings(clusterDir);
            Assert.Equal(Enumerable.Range(0, rows).Select(i => (long)i), expected.Keys.Order());
            Assert.True(actual.Count == rows && actual.Keys.Order().SequenceEqual(expected.Keys.Order()), $"the cluster's output does not hold each of the {rows} rows once: {actual.Count} rows{Context()}");
            foreach (var (id, vector) in expected)
            {
                var other = actual[id];
                var worst = vector.Zip(other, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(worst < 1e-5, $"row {id}: embeddings differ by {worst} between the embedded run and the cluster");
            }
            // The model came over the wire into the survivor's cache, checked by hash: the survivor never saw the driver's directory.
            var cached = Directory.GetFiles(Path.Combine(caches, "w1"), "model.onnx", SearchOption.AllDirectories);
            Assert.True(cached.Length == 1, $"the survivor's cache holds {cached.Length} model.onnx files, 1 wanted{Context()}");
            Assert.Equal(new FileInfo(files.Model).Length, new FileInfo(cached[0]).Length);
            output.WriteLine($"killed {doomed.NodeId}; survivor {survivor.NodeId} cached {cached[0]}; retries {job.Snapshot.Operators.Sum(o => o.TaskRetries)}");
        }
        finally
        {
            Delete(embeddedDir, clusterDir, caches, models);
        }
    }

    /// <summary>Waits until <paramref name="blocks"/> blocks are written, kills <paramref name="doomed"/> (SIGKILL) and waits for the job to end.</summary>
    private static async Task KillMidJobAsync(JobExecution job, WorkerProcess doomed, int blocks, TimeSpan within, Func<string> context)
    {
        var clock = Stopwatch.StartNew();
        while (SinkBacklog.Written(job.Snapshot) < blocks)
        {
            if (job.Completion.IsCompleted) Assert.Fail($"the job ended before {blocks} blocks were written: {job.Completion.Exception?.InnerException}{context()}");
            if (clock.Elapsed > within) Assert.Fail($"fewer than {blocks} blocks written within {within.TotalSeconds:0} s{context()}");
            await Task.Delay(20);
        }
        doomed.Kill();
        if (job.Completion.IsCompleted) Assert.Fail($"the job ended before the kill: make it longer{context()}");
        try
        {
            await job.Completion.WaitAsync(Limit);
        }
        catch (Exception e)
        {
            Assert.Fail($"the job failed after the kill: {e}{context()}");
        }
    }

    /// <summary>Each row's embedding by id.</summary>
    private static async Task<Dictionary<long, float[]>> Embeddings(string dir)
    {
        var result = new Dictionary<long, float[]>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync(new ExecutionOptions()))
        {
            var ids = (Apache.Arrow.Int64Array)batch.Column("id");
            var lists = (Apache.Arrow.FixedSizeListArray)batch.Column("embedding");
            var values = (Apache.Arrow.FloatArray)lists.Values;
            var width = ((Apache.Arrow.Types.FixedSizeListType)lists.Data.DataType).ListSize;
            for (var r = 0; r < batch.Length; r++)
                result[ids.GetValue(r)!.Value] = values.Values.Slice((lists.Offset + r) * width, width).ToArray();
        }
        return result;
    }

    private bool SkipOrFail()
    {
        if (Namespaces.Unavailable() is not { } why) return false;
        if (Environment.GetEnvironmentVariable("SLUICE_SKIP_NETNS") == "1")
        {
            output.WriteLine($"skipped (SLUICE_SKIP_NETNS=1): {why}");
            return true;
        }
        Assert.Fail($"network namespaces cannot be made here: {why}. Run as root with iproute2 (`ip`) installed, or set SLUICE_SKIP_NETNS=1 to skip this test");
        return true;
    }

    private static void Delete(params string[] dirs)
    {
        foreach (var dir in dirs)
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>Redis and the driver on the bridge, one worker in each namespace; Dispose stops them all and deletes the network.</summary>
    private sealed class NamespacedCluster : IAsyncDisposable
    {
        private Namespaces? _net;
        private RedisServer? _redis;
        private readonly List<WorkerProcess> _workers = [];

        public OrleansWorkerRuntime Driver { get; private set; } = null!;

        public IReadOnlyList<WorkerProcess> Workers => _workers;

        public string WorkerOutput() => string.Join(Environment.NewLine, _workers.Select(w => $"{w.NodeId}:{Environment.NewLine}{w.Output}"));

        public static Task<NamespacedCluster> StartAsync(int workers, ITestOutputHelper output, params string[] workerArgs) =>
            StartAsync(workers, output, workerArgs, perWorker: null, hidden: null);

        /// <param name="perWorker">More arguments for worker i.</param>
        /// <param name="hidden">A directory each worker must not see: an empty tmpfs is mounted over it in the worker's own mount namespace.</param>
        public static async Task<NamespacedCluster> StartAsync(int workers, ITestOutputHelper output, string[] workerArgs, Func<int, string[]>? perWorker, string? hidden)
        {
            var cluster = new NamespacedCluster();
            try
            {
                var net = cluster._net = Namespaces.Create(workers);
                var redis = cluster._redis = await RedisServer.StartAsync(null, net.Bridge);
                cluster.Driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions
                {
                    Redis = redis.Uri, NodeId = $"driver-{net.Name}", Listen = $"{net.Bridge}:0", Advertise = net.Bridge.ToString(), FastFailureDetection = true,
                });
                var dll = Path.Combine(AppContext.BaseDirectory, "sluice.dll");
                for (var i = 0; i < workers; i++)
                {
                    // `ip netns exec` execs (the pid stays the worker's); so do unshare and sh's exec. unshare -m gives the worker a
                    // private mount namespace, where the hidden directory is covered by an empty tmpfs: the driver's files are not there.
                    string[] launcher = hidden is null ? ["ip", "netns", "exec", net.Namespace(i)]
                        : ["ip", "netns", "exec", net.Namespace(i), "unshare", "-m", "sh", "-c", "mount -t tmpfs sluice-hidden \"$0\" && exec \"$@\"", hidden];
                    cluster._workers.Add(await WorkerProcess.StartAsync(dll, redis.Uri, $"w{i}-{net.Name}",
                        [.. workerArgs, .. perWorker?.Invoke(i) ?? [], "--fast-failure-detection", "--listen", $"{net.Workers[i]}:11111", "--advertise", net.Workers[i].ToString()],
                        launcher: launcher));
                }
                await cluster.Driver.WaitForWorkersAsync(workers, TimeSpan.FromSeconds(60));
                output.WriteLine($"nodes: {string.Join(", ", cluster.Driver.Nodes.Select(n => $"{n.Id} ({n.Resources})"))}; bridge {net.Bridge}, workers {string.Join(", ", net.Workers)}");
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Driver is not null) await Driver.DisposeAsync();
            foreach (var w in _workers) w.Dispose();
            _redis?.Dispose();
            _net?.Dispose();
        }
    }

    /// <summary>A bridge with an address on the driver's side and one namespace per worker, joined by veth pairs; all deleted on Dispose.</summary>
    private sealed class Namespaces : IDisposable
    {
        private readonly List<string[]> _undo = [];

        private Namespaces(string name, IPAddress bridge, IReadOnlyList<IPAddress> workers)
        {
            Name = name;
            Bridge = bridge;
            Workers = workers;
        }

        /// <summary>Unique per run, e.g. sl1a2b3c: interface names stay under Linux' 15 characters.</summary>
        public string Name { get; }

        public IPAddress Bridge { get; }

        public IReadOnlyList<IPAddress> Workers { get; }

        public string Namespace(int i) => $"{Name}n{i}";

        /// <summary>Why namespaces cannot be made here; null when they can.</summary>
        public static string? Unavailable()
        {
            if (!OperatingSystem.IsLinux()) return "not Linux";
            if (Environment.UserName != "root") return $"not root (user {Environment.UserName})";
            try
            {
                var (code, text) = Ip("netns", "list");
                return code == 0 ? null : $"`ip netns list` failed ({code}): {text}";
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"`ip` cannot be run: {e.Message}";
            }
        }

        public static Namespaces Create(int workers)
        {
            var bytes = RandomNumberGenerator.GetBytes(4);
            var name = $"sl{Convert.ToHexString(bytes, 0, 3).ToLowerInvariant()}";
            // One /24 inside 198.18.0.0/15, picked at random so that concurrent runs do not clash.
            var prefix = $"198.{18 + (bytes[3] & 1)}.{bytes[2]}";
            var net = new Namespaces(name, IPAddress.Parse($"{prefix}.1"), Enumerable.Range(0, workers).Select(i => IPAddress.Parse($"{prefix}.{11 + i}")).ToList());
            try
            {
                var bridge = $"{name}b";
                net.Run(["link", "add", bridge, "type", "bridge"], ["link", "del", bridge]);
                net.Run(["addr", "add", $"{net.Bridge}/24", "dev", bridge]);
                net.Run(["link", "set", bridge, "up"]);
                for (var i = 0; i < workers; i++)
                {
                    string ns = net.Namespace(i), host = $"{name}h{i}", peer = $"{name}p{i}";
                    net.Run(["netns", "add", ns], ["netns", "del", ns]);
                    net.Run(["link", "add", host, "type", "veth", "peer", "name", peer], ["link", "del", host]);
                    net.Run(["link", "set", peer, "netns", ns]);
                    net.Run(["link", "set", host, "master", bridge]);
                    net.Run(["link", "set", host, "up"]);
                    net.Run(["netns", "exec", ns, "ip", "addr", "add", $"{net.Workers[i]}/24", "dev", peer]);
                    net.Run(["netns", "exec", ns, "ip", "link", "set", peer, "up"]);
                    net.Run(["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
                }
                return net;
            }
            catch
            {
                net.Dispose();
                throw;
            }
        }

        private void Run(string[] args, string[]? undo = null)
        {
            var (code, text) = Ip(args);
            if (code != 0) throw new InvalidOperationException($"`ip {string.Join(' ', args)}` failed ({code}): {text}");
            if (undo is not null) _undo.Add(undo);
        }

        private static (int Code, string Text) Ip(params string[] args)
        {
            var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, (stdout.Result + stderr).Trim());
        }

        /// <summary>Deletes what was made, last first; a link already gone with its namespace is not an error.</summary>
        public void Dispose()
        {
            for (var i = _undo.Count - 1; i >= 0; i--) Ip(_undo[i]);
            _undo.Clear();
        }
    }
}
