using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sluice.Testing;

namespace Sluice.Service.Tests;

/// <summary>
/// <c>sluice serve --cluster</c>: the service is the driver of a cluster (its own silo, membership in a real
/// <c>redis-server</c>) and a submitted job runs on a worker process. Needs Debian's <c>redis-server</c>.
/// </summary>
public sealed class ServeClusterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ServeCluster_SubmittedJob_RunsOnAWorkerNode()
    {
        using var redis = await LocalRedis.StartAsync();
        using var worker = await LocalWorkerProcess.StartAsync(redis.Uri, $"w0-{Guid.NewGuid():N}"[..9], "--cpus", "1", "--sim-gpus", "2", "--memory", "1GiB", "--fast-failure-detection");
        await File.WriteAllTextAsync(_dir["tokens"], "cluster-token\n");
        await using var serve = await ServeProcess.StartAsync(_dir["tokens"], _dir["state"], [_dir.Dir("root")],
            ["--cluster", redis.Uri, "--workers", "1", "--fast-failure-detection"]);
        using var http = serve.Client("cluster-token");
        var spec = $$"""
            name: on-cluster
            read: { format: range, count: 2000, block_rows: 100 }
            stages:
              - { name: gpu, op: simulate, per_row_ms: 0.5, batch_size: 100, pool: { min: 1, max: 2 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{_dir["root/out"]}} }
            """;

        var response = await http.PostAsync("api/jobs", new StringContent(spec, Encoding.UTF8, "application/yaml"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var end = (await Sse.FollowAsync(http, $"api/jobs/{id}/events", TimeSpan.FromMinutes(2)))[^1].Data;

        Assert.True(end.GetProperty("state").GetString() == "succeeded", end.ToString());
        var rows = Directory.GetFiles(_dir["root/out"], "part-*.jsonl").SelectMany(File.ReadLines).ToList();
        Assert.Equal(2000, rows.Count);
        // The driver offers no GPU: the simulated ones, and the stage's actors, are the worker's.
        Assert.Contains("gpus 0/2 (simulated) on 2 nodes", end.GetProperty("snapshot").GetProperty("resources").GetString());
    }
}
