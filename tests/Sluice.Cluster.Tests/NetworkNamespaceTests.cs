using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
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
        if (Namespaces.Unavailable() is { } why)
        {
            if (Environment.GetEnvironmentVariable("SLUICE_SKIP_NETNS") == "1")
            {
                output.WriteLine($"skipped (SLUICE_SKIP_NETNS=1): {why}");
                return;
            }
            Assert.Fail($"network namespaces cannot be made here: {why}. Run as root with iproute2 (`ip`) installed, or set SLUICE_SKIP_NETNS=1 to skip this test");
        }

        static Dataset Job() => SimulatedJob.Build(Rows, blockRows: 100, perRowMs: 1, new PoolSize(1, 2), new PoolSize(1, 2));
        var embeddedDir = SimulatedJob.TempDir("netns-embedded");
        var clusterDir = SimulatedJob.TempDir("netns-cluster");
        using var net = Namespaces.Create(Workers);
        var workers = new List<WorkerProcess>();
        try
        {
            await Job().WriteAsync(Sinks.Parquet(embeddedDir),
                new ExecutionOptions { Resources = new NodeResources(Workers, 0, 2L << 30).WithSimulatedGpus(Workers), WriteMode = WriteMode.Overwrite }).WaitAsync(Limit);

            using var redis = await RedisServer.StartAsync(null, net.Bridge);
            await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions
            {
                Redis = redis.Uri, NodeId = $"driver-{net.Name}", Listen = $"{net.Bridge}:0", Advertise = net.Bridge.ToString(), FastFailureDetection = true,
            });
            var dll = Path.Combine(AppContext.BaseDirectory, "sluice.dll");
            for (var i = 0; i < Workers; i++)
            {
                workers.Add(await WorkerProcess.StartAsync(dll, redis.Uri, $"w{i}-{net.Name}",
                    ["--cpus", "1", "--sim-gpus", "1", "--memory", "1GiB", "--fast-failure-detection", "--listen", $"{net.Workers[i]}:11111", "--advertise", net.Workers[i].ToString()],
                    launcher: ["ip", "netns", "exec", net.Namespace(i)]));
            }
            await driver.WaitForWorkersAsync(Workers, TimeSpan.FromSeconds(60));
            output.WriteLine($"nodes: {string.Join(", ", driver.Nodes.Select(n => $"{n.Id} ({n.Resources})"))}");

            var log = new CollectingLogger();
            try
            {
                await Job().WriteAsync(Sinks.Parquet(clusterDir), new ExecutionOptions { Runtime = driver, WriteMode = WriteMode.Overwrite, LoggerFactory = log }).WaitAsync(Limit);
            }
            catch (Exception e)
            {
                Assert.Fail($"the job failed across namespaces: {e}{Environment.NewLine}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}" +
                    string.Join(Environment.NewLine, workers.Select(w => $"{w.NodeId}:{Environment.NewLine}{w.Output}")));
            }

            var expected = await JobOutput.ReadSortedAsync(embeddedDir, "pid");
            var actual = await JobOutput.ReadSortedAsync(clusterDir, "pid");
            Assert.Equal(Enumerable.Range(0, (int)Rows).Select(i => (long)i), expected.Select(r => r.Id));
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
                Assert.True(expected[i] == actual[i], $"row {i}: embedded {expected[i]}, across namespaces {actual[i]}");
            // annotate ran in the namespaced workers (its pid column), none on the driver's side.
            var pids = await JobOutput.DistinctInt32Async(clusterDir, "pid");
            var workerPids = workers.Select(w => w.Pid).ToHashSet();
            output.WriteLine($"pids in the output [{string.Join(", ", pids)}], workers [{string.Join(", ", workerPids)}]");
            Assert.NotEmpty(pids);
            Assert.True(pids.IsSubsetOf(workerPids), $"pids [{string.Join(", ", pids)}] are not all those of the namespaced workers [{string.Join(", ", workerPids)}]");
        }
        finally
        {
            foreach (var w in workers) w.Dispose();
            foreach (var dir in new[] { embeddedDir, clusterDir })
            {
                try { Directory.Delete(dir, recursive: true); }
                catch (IOException) { }
            }
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
