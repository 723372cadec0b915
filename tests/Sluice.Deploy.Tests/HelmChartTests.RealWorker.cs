using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Deploy.Tests;

/// <summary>
/// The arguments the chart gives a worker, run by the real <c>sluice worker</c> in the test output: only what names a
/// place in the pod is swapped for a local one (Redis, node id, ports, the cache directory, the TLS mount).
/// </summary>
public partial class HelmChartTests
{
    /// <summary>
    /// A worker started with a group's rendered arguments joins a local Redis, answers the probes' paths (/healthz and
    /// /readyz 200 once joined), and on SIGTERM, as the kubelet sends it after the preStop hook, stops being ready, drains
    /// and exits 0. With the TLS values it loads the CA and node certificate that `sluice cluster init` made, under the
    /// file names the chart mounts them as (the kubectl recipe in values.yaml).
    /// </summary>
    [Theory]
    [InlineData("default")]
    [InlineData("tls")]
    public async Task Rendered_worker_arguments_start_a_real_worker_that_joins_serves_health_and_drains_on_sigterm(string values)
    {
        var worker = Workers(Objects(values)).Single().Spec.Template.Spec.Containers.Single();
        Assert.Equal("worker", worker.Args[0]);
        var help = RunSluice("worker", "--help");
        var scratch = Directory.CreateTempSubdirectory("sluice-helm-worker-");
        try
        {
            var healthPort = FreeLoopbackPort();
            var extra = new List<string>();
            for (var i = 1; i < worker.Args.Count; i++)
            {
                var (name, value) = (worker.Args[i], i + 1 < worker.Args.Count ? worker.Args[i + 1] : null);
                switch (name)
                {
                    // LocalWorkerProcess gives its own Redis and node id (and a --ready-file: how it knows the worker joined).
                    case "--cluster" or "--node-id":
                    // The chart's fixed silo port on all interfaces; the worker's default is a free loopback one.
                    case "--listen":
                        i++;
                        break;
                    // Flags that arrive with other changes (--group with the autoscaler, --cache-dir with the job file
                    // cache): checked in the rendering by their own tests, and left out here until the worker lists them.
                    case "--group" or "--cache-dir" when !help.Contains(name, StringComparison.Ordinal):
                        i++;
                        break;
                    case "--cache-dir":
                        // An existing empty directory, as the pod's emptyDir is.
                        extra.AddRange([name, Directory.CreateDirectory(Path.Combine(scratch.FullName, "cache")).FullName]);
                        i++;
                        break;
                    case "--health":
                        Assert.StartsWith("0.0.0.0:", value, StringComparison.Ordinal);
                        extra.AddRange([name, $"127.0.0.1:{healthPort}"]);
                        i++;
                        break;
                    case "--tls-ca" or "--tls-cert":
                        // The Secret's mount: here the directory `sluice cluster init` wrote, with node-1.pfx as node.pfx.
                        extra.AddRange([name, Path.Combine(scratch.FullName, "tls", Path.GetFileName(value!))]);
                        i++;
                        break;
                    default:
                        extra.Add(name);
                        break;
                }
            }
            Assert.Contains("--drain-timeout", extra);
            Assert.Contains("--health", extra);
            if (values == "tls")
            {
                Assert.Contains("--tls-cert", extra);
                var certs = Path.Combine(scratch.FullName, "certs");
                RunSluice("cluster", "init", "--out", certs, "--nodes", "1");
                Directory.CreateDirectory(Path.Combine(scratch.FullName, "tls"));
                File.Copy(Path.Combine(certs, "ca.crt"), Path.Combine(scratch.FullName, "tls", "ca.crt"));
                File.Copy(Path.Combine(certs, "node-1.pfx"), Path.Combine(scratch.FullName, "tls", "node.pfx"));
            }

            using var redis = await Sluice.Testing.LocalRedis.StartAsync();
            using var process = await Sluice.Testing.LocalWorkerProcess.StartAsync(redis.Uri, $"helm-args-{values}", [.. extra]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}"), Timeout = TimeSpan.FromSeconds(5) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
            // The ready file and /readyz follow the same join; allow the two a moment apart.
            Assert.Equal(HttpStatusCode.OK, await StatusWithinAsync(http, "/readyz", s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(10)));

            process.Terminate();
            // Readiness goes (503 draining, or nothing answers once the worker has left); liveness never asked for that.
            var after = await StatusWithinAsync(http, "/readyz", s => s != HttpStatusCode.OK, TimeSpan.FromSeconds(30));
            Assert.NotEqual(HttpStatusCode.OK, after);
            Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("drained", process.Output, StringComparison.Ordinal);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>Polls <paramref name="path"/> until <paramref name="done"/> holds for its status (null: nothing answered), or the time is up.</summary>
    private static async Task<HttpStatusCode?> StatusWithinAsync(HttpClient http, string path, Func<HttpStatusCode?, bool> done, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            HttpStatusCode? status;
            try
            {
                using var response = await http.GetAsync(path);
                status = response.StatusCode;
            }
            catch (HttpRequestException)
            {
                status = null;
            }
            if (done(status) || DateTime.UtcNow >= deadline) return status;
            // 100 ms: joins and drains take seconds.
            await Task.Delay(100);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Runs <c>sluice ARGS</c> of the test output to the end and returns what it wrote; a failure fails the test.</summary>
    private static string RunSluice(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), $"sluice {string.Join(' ', args)} did not finish within 30 s");
        Assert.True(process.ExitCode == 0, $"sluice {string.Join(' ', args)} exited with {process.ExitCode}: {output}{stderr.Result}");
        return output + stderr.Result;
    }
}
