using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;

namespace Sluice.Cluster.Tests;

/// <summary>
/// TLS to Redis (<c>rediss://</c>): a real redis-server with TLS only (no plain port) and a password; the driver and a worker
/// process reach it with the CA given by <c>--redis-ca</c>, and a node that does not trust that CA is refused with a clear line.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class RedisTlsTests : IDisposable
{
    private const string Password = "tls-and-a-password";
    private readonly string _dir = SimulatedJob.TempDir("redis-tls");

    [Fact]
    public async Task RedissWithTheCa_DriverAndWorkerJoinAndRunAJob_WithoutTheCa_RefusedNamingTheCertificate()
    {
        ClusterCertificates.Init(_dir, 1);
        var ca = Path.Combine(_dir, "ca.crt");
        using (var node = X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(_dir, "node-1.pfx"), null))
        {
            File.WriteAllText(Path.Combine(_dir, "redis.crt"), node.ExportCertificatePem());
            File.WriteAllText(Path.Combine(_dir, "redis.key"), node.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        }
        var port = FreePort();
        using var redis = StartTlsRedis(port);
        using var stop = new Stopper(redis);
        await WaitForPort(port, redis);
        var url = $"rediss://127.0.0.1:{port}";

        // No CA: the server's certificate chains to no system root.
        var refused = await Assert.ThrowsAsync<SluiceException>(() => OrleansWorkerRuntime.StartAsync(
            new ClusterNodeOptions { Redis = $"rediss://:{Password}@127.0.0.1:{port}", NodeId = $"d-noca-{Guid.NewGuid():N}"[..14] }));
        Assert.Contains("over TLS", refused.Message, StringComparison.Ordinal);
        Assert.Contains("--redis-ca", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, refused.ToString(), StringComparison.Ordinal);

        await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions
        {
            Redis = $"rediss://:{Password}@127.0.0.1:{port}", RedisCaFile = ca, NodeId = $"d-tls-{Guid.NewGuid():N}"[..13],
        });
        using var worker = await WorkerProcess.StartAsync(url, $"w-tls-{Guid.NewGuid():N}"[..13], new Dictionary<string, string> { ["SLUICE_REDIS_PASSWORD"] = Password },
            "--redis-ca", ca, "--cpus", "1", "--sim-gpus", "1", "--memory", "1GiB");
        await driver.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));
        var output = Path.Combine(_dir, "out");
        await SimulatedJob.Build(300, 50, perRowMs: 0, new PoolSize(1, 1), new PoolSize(1, 1)).WriteAsync(Sinks.Parquet(output),
            new ExecutionOptions { Runtime = driver, WriteMode = WriteMode.Overwrite }).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), (await JobOutput.ReadSortedAsync(output, "pid")).Select(r => r.Id));
        Assert.Equal([worker.Pid], await JobOutput.DistinctInt32Async(output, "pid"));
        Assert.Contains("rediss://127.0.0.1", worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void RedisCa_WithAPlainAddress_Refused()
    {
        var problems = new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", RedisCaFile = "/etc/hostname" }.Validate().ToList();
        Assert.Contains(problems, p => p.StartsWith("--redis-ca: '/etc/hostname' is a CA for TLS to Redis, but 'redis://127.0.0.1:6379' is not TLS", StringComparison.Ordinal));
    }

    private Process StartTlsRedis(int port)
    {
        var info = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            "--port", "0", "--tls-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--tls-cert-file", Path.Combine(_dir, "redis.crt"), "--tls-key-file", Path.Combine(_dir, "redis.key"),
            "--tls-ca-cert-file", Path.Combine(_dir, "ca.crt"), "--tls-auth-clients", "no", "--requirepass", Password, "--save", "", "--appendonly", "no",
        }) info.ArgumentList.Add(a);
        var p = Process.Start(info)!;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task WaitForPort(int port, Process redis)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20) && !redis.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Kills the server when the test ends, passed or failed (disposing a Process does not end it).</summary>
    private sealed class Stopper(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited) process.Kill();
            process.WaitForExit(5000);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
