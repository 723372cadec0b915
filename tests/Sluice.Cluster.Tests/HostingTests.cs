using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sluice.Cluster.Hosting;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.IO;

namespace Sluice.Cluster.Tests;

/// <summary>
/// A worker and a driver hosted inside an application's own generic host (<see cref="SluiceHosting"/>), as a user
/// embedding Sluice would: options checked when the node is added, health served, the drain run by the host's stop.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class HostingTests
{
    [Fact]
    public async Task WorkerAndDriver_InTheirOwnGenericHosts_RunAJob_HealthSaysReadyThenDraining()
    {
        using var redis = await RedisServer.StartAsync();
        var tag = Guid.NewGuid().ToString("N")[..6];
        var healthPort = FreePort();
        var worker = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        worker.AddSluiceWorker(new ClusterNodeOptions
        {
            Redis = redis.Uri,
            NodeId = $"hosted-w-{tag}",
            Resources = new NodeResources(1, 0, 1L << 30).WithSimulatedGpus(2),
            Processors = new ProcessorRegistry().Add<SimulateProcessor, SimulateOptions>().Add<AnnotateProcessor>(),
            Health = $"127.0.0.1:{healthPort}",
            DrainTimeout = TimeSpan.FromSeconds(5),
        });
        using var workerHost = worker.Build();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };
        await workerHost.StartAsync();
        var dir = SimulatedJob.TempDir("hosted");
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
            var ready = await http.GetAsync("/readyz");
            Assert.True(ready.StatusCode == HttpStatusCode.OK, $"/readyz {(int)ready.StatusCode}: {await ready.Content.ReadAsStringAsync()}");

            var driver = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            driver.AddSluiceDriver(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"hosted-d-{tag}" });
            using (var driverHost = driver.Build())
            {
                await driverHost.StartAsync();
                var runtime = driverHost.Services.GetRequiredService<OrleansWorkerRuntime>();
                await runtime.WaitForWorkersAsync(1, TimeSpan.FromSeconds(30));
                await SimulatedJob.Build(400, 50, perRowMs: 0, new PoolSize(1, 2), new PoolSize(1, 1)).WriteAsync(Sinks.Parquet(dir),
                    new ExecutionOptions { Runtime = runtime, WriteMode = WriteMode.Overwrite }).WaitAsync(TimeSpan.FromMinutes(2));
                await driverHost.StopAsync();
            }
            var ids = (await JobOutput.ReadSortedAsync(dir, "pid")).Select(r => r.Id).ToList();
            Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), ids);

            // The host's stop drains first: while it does, readiness says so and liveness still answers.
            var node = workerHost.Services.GetRequiredService<ClusterNode>();
            node.StartDraining();
            var draining = await http.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, draining.StatusCode);
            Assert.StartsWith("draining", await draining.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
            await workerHost.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(node.Joined);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AddSluiceWorker_InvalidOptions_RefusedAtOnceWithEveryProblem()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var e = Assert.Throws<SluiceException>(() => builder.AddSluiceWorker(new ClusterNodeOptions
        {
            Redis = "http://nope", Listen = "10.0.0.5", Health = "127.0.0.1", DrainTimeout = TimeSpan.FromSeconds(-1),
        }));
        Assert.Contains("--listen: '10.0.0.5' has no port", e.Message, StringComparison.Ordinal);
        Assert.Contains("--health: '127.0.0.1' is not accepted", e.Message, StringComparison.Ordinal);
        Assert.Contains("drain_timeout", e.Message, StringComparison.Ordinal);
        Assert.Contains("cluster: 'http://nope' is not accepted", e.Message, StringComparison.Ordinal);
        var result = new ClusterNodeOptionsValidator().Validate(null, new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379" });
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Health_AnswersByPath()
    {
        var node = new ClusterNode("n1", new NodeResources(1, 0, 0), 1 << 20, new ProcessorRegistry());
        using var health = new HealthEndpoint(node, "127.0.0.1:1");
        Assert.Equal(503, health.Answer("/readyz").Status);
        node.MarkJoined();
        Assert.Equal(200, health.Answer("/readyz").Status);
        Assert.Equal(200, health.Answer("/healthz").Status);
        Assert.Equal(404, health.Answer("/").Status);
        node.StartDraining();
        Assert.Equal(503, health.Answer("/readyz").Status);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
