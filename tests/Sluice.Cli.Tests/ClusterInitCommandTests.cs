using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;
using Sluice.Testing;

namespace Sluice.Cli.Tests;

/// <summary><c>sluice cluster init</c> and the <c>--tls-ca</c>/<c>--tls-cert</c> options as a real process.</summary>
public sealed class ClusterInitCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Task<(int Code, string Out, string Err)> SluiceAsync(params string[] args) => SluiceProcess.RunAsync(args);

    [Fact]
    public async Task ClusterInit_WritesCaAndNodeCertificates_PrintsPathsNeverKeys()
    {
        var (code, stdout, stderr) = await SluiceAsync("cluster", "init", "--out", _dir["certs"], "--nodes", "3");

        Assert.Equal(0, code);
        foreach (var name in new[] { "ca.crt", "ca.key", "node-1.pfx", "node-2.pfx", "node-3.pfx" })
        {
            Assert.True(File.Exists(_dir[Path.Combine("certs", name)]), name);
            Assert.Contains(_dir[Path.Combine("certs", name)], stdout);
        }
        Assert.DoesNotContain("PRIVATE KEY", stdout + stderr);
        Assert.DoesNotContain("BEGIN", stdout + stderr);
    }

    [Fact]
    public async Task Worker_TlsCaWithoutTlsCert_IsRefusedNamingTheOption()
    {
        var (code, stdout, stderr) = await SluiceAsync("worker", "--cluster", "redis://127.0.0.1:1", "--tls-ca", _dir["ca.crt"]);

        Assert.NotEqual(0, code);
        Assert.Contains("--tls-ca needs --tls-cert", stdout + stderr);
    }

    /// <summary>The driver side of <c>sluice run --cluster … --tls-ca … --tls-cert …</c>: its silo joins a TLS worker and runs a job there.</summary>
    [Fact]
    public async Task RunCluster_WithTlsOptions_DriverJoinsATlsWorkerAndRunsAJob()
    {
        var (code, _, _) = await SluiceAsync("cluster", "init", "--out", _dir["certs"], "--nodes", "2");
        Assert.Equal(0, code);
        using var redis = await LocalRedis.StartAsync();
        using var worker = await LocalWorkerProcess.StartAsync(redis.Uri, $"w0-{Guid.NewGuid():N}"[..9], "--cpus", "1", "--memory", "1GiB",
            "--tls-ca", _dir["certs/ca.crt"], "--tls-cert", _dir["certs/node-1.pfx"]);
        var tls = ClusterCommands.Tls(_dir["certs/ca.crt"], _dir["certs/node-2.pfx"]);
        var pids = await ClusterCommands.WithRuntimeAsync(redis.Uri, null, 1, fastFailure: false, tls, async runtime =>
        {
            var ds = Dataset.Range(200, new ReadOptions { BlockRows = 100 })
                .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Resources = new ResourceRequest(Cpus: 1) });
            var seen = new HashSet<int>();
            await foreach (var batch in ds.IterateBatchesAsync(new ExecutionOptions { Runtime = runtime }).WithCancellation(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token))
                foreach (var p in ((Int32Array)batch.Column("pid")).Values) seen.Add(p);
            return seen;
        }, CancellationToken.None);
        Assert.Equal([worker.Pid], pids);
    }
}
