using System.Security.Cryptography.X509Certificates;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Cluster.Tests;

/// <summary>
/// Mutual TLS between nodes (<c>sluice cluster init</c>, <c>--tls-ca</c>, <c>--tls-cert</c>): nodes given certificates
/// from one CA form a cluster and run a job; a worker whose certificate comes from another CA, or a worker without TLS,
/// is refused: the driver never lists it and no task reaches it.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class TlsTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ClusterInit_NodeCertificates_ChainToTheCa_WithClientAndServerUsage_KeysOwnerOnly()
    {
        var written = ClusterCertificates.Init(Path.Combine(_dir, "a"), nodes: 2);
        var other = ClusterCertificates.Init(Path.Combine(_dir, "b"), nodes: 1);

        Assert.Equal(["ca.crt", "ca.key", "node-1.pfx", "node-2.pfx"], written.Select(Path.GetFileName));
        using var ca = X509CertificateLoader.LoadCertificateFromFile(written[0]);
        using var otherCa = X509CertificateLoader.LoadCertificateFromFile(other[0]);
        Assert.False(ca.HasPrivateKey);
        foreach (var path in written.Skip(2))
        {
            using var node = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
            Assert.True(node.HasPrivateKey);
            Assert.True(ClusterCertificates.ChainsTo(ca, node));
            Assert.False(ClusterCertificates.ChainsTo(otherCa, node));
            var usages = node.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToList();
            Assert.Contains("1.3.6.1.5.5.7.3.1", usages);
            Assert.Contains("1.3.6.1.5.5.7.3.2", usages);
            Assert.False(node.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        }
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        if (!OperatingSystem.IsWindows())
        {
            foreach (var key in written.Skip(1)) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        }
        // Never overwritten: a second init into the same directory is refused and leaves the CA as it was.
        var before = File.ReadAllBytes(written[0]);
        Assert.Throws<SluiceException>(() => ClusterCertificates.Init(Path.Combine(_dir, "a"), nodes: 1));
        Assert.Equal(before, File.ReadAllBytes(written[0]));
    }

    [Fact]
    public void TlsOptions_MissingFiles_OrACertificateOfAnotherCa_AreRefusedBeforeTheNodeStarts()
    {
        var a = ClusterCertificates.Init(Path.Combine(_dir, "a"), nodes: 1);
        var b = ClusterCertificates.Init(Path.Combine(_dir, "b"), nodes: 1);

        var missing = new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Tls = new ClusterTlsOptions { CaCertificate = _dir + "/none.crt", NodeCertificate = a[2] } };
        Assert.Contains(missing.Validate(), p => p.StartsWith("tls_ca:", StringComparison.Ordinal));
        Assert.DoesNotContain(new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Tls = new ClusterTlsOptions { CaCertificate = a[0], NodeCertificate = a[2] } }.Validate(),
            p => p.StartsWith("tls", StringComparison.Ordinal));

        var mixed = new ClusterTlsOptions { CaCertificate = a[0], NodeCertificate = b[2] };
        var e = Assert.Throws<SluiceException>(() => mixed.Load());
        Assert.Contains("is not signed by the CA", e.Message);
        var notPfx = new ClusterTlsOptions { CaCertificate = a[0], NodeCertificate = a[1] };
        e = Assert.Throws<SluiceException>(() => notPfx.Load());
        Assert.DoesNotContain("PRIVATE", e.Message);
        var (ca, node) = new ClusterTlsOptions { CaCertificate = a[0], NodeCertificate = a[2] }.Load();
        using (ca)
        using (node)
        {
            Assert.True(node.HasPrivateKey);
        }
    }

    [Fact]
    public async Task Tls_NodesOfOneCa_RunAJob_WorkerOfAnotherCaOrWithoutTls_IsRefused()
    {
        var good = ClusterCertificates.Init(Path.Combine(_dir, "cluster"), nodes: 2);
        var foreign = ClusterCertificates.Init(Path.Combine(_dir, "foreign"), nodes: 1);
        var tag = Guid.NewGuid().ToString("N")[..6];
        using var redis = await RedisServer.StartAsync();
        string[] common = ["--cpus", "2", "--memory", "2GiB", "--fast-failure-detection"];
        using var worker = await WorkerProcess.StartAsync(redis.Uri, $"w0-{tag}", [.. common, "--tls-ca", good[0], "--tls-cert", good[2]]);
        var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions
        {
            Redis = redis.Uri,
            NodeId = $"driver-{tag}",
            FastFailureDetection = true,
            Tls = new ClusterTlsOptions { CaCertificate = good[0], NodeCertificate = good[3] },
        });
        await using (runtime)
        {
            await runtime.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
            Assert.Equal([worker.Pid], await RunJobAsync(runtime, worker));

            // A worker of another CA (its own CA and certificate, consistent with each other) and a worker without TLS.
            using var stranger = WorkerProcess.Launch(redis.Uri, $"w1-{tag}", [.. common, "--tls-ca", foreign[0], "--tls-cert", foreign[2]]);
            using var plain = WorkerProcess.Launch(redis.Uri, $"w2-{tag}", common);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (DateTime.UtcNow < deadline)
            {
                Assert.DoesNotContain(runtime.Nodes, n => n.Id == stranger.NodeId || n.Id == plain.NodeId);
                Assert.False(stranger.HasJoined, $"the worker of another CA joined: {stranger.Output}");
                Assert.False(plain.HasJoined, $"the worker without TLS joined: {plain.Output}");
                await Task.Delay(100);
            }
            Assert.Equal([worker.NodeId], runtime.Nodes.Skip(1).Select(n => n.Id));
            // Each refused worker either stays unjoined or has stopped with an error (Orleans declares it dead when it cannot reach it).
            foreach (var refused in new[] { stranger, plain })
            {
                var code = await refused.WaitForExitAsync(TimeSpan.FromMilliseconds(500));
                Assert.True(code is null or not 0, $"worker {refused.NodeId} exited with 0: {refused.Output}");
            }

            // The cluster still works, and its tasks reach only the worker it accepted.
            Assert.Equal([worker.Pid], await RunJobAsync(runtime, worker));
            Assert.DoesNotContain(runtime.Nodes, n => n.Id == stranger.NodeId || n.Id == plain.NodeId);
        }
    }

    /// <summary>Runs Range → annotate on the cluster; returns the pids that ran the tasks.</summary>
    private static async Task<HashSet<int>> RunJobAsync(OrleansWorkerRuntime runtime, WorkerProcess worker)
    {
        var ds = Dataset.Range(400, new ReadOptions { BlockRows = 100 })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Cpus: 1) });
        var rows = 0;
        var pids = new HashSet<int>();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await foreach (var batch in ds.IterateBatchesAsync(new ExecutionOptions { Runtime = runtime }, timeout.Token))
            {
                rows += batch.Length;
                foreach (var p in ((Int32Array)batch.Column("pid")).Values) pids.Add(p);
            }
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"the job failed: {e.Message}; worker output: {worker.Output}", e);
        }
        Assert.Equal(400, rows);
        return pids;
    }
}
