using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sluice.Execution;

namespace Sluice.Service.Tests;

/// <summary>The REST API in this process, on jobs of simulated GPUs (no model): tokens, problem details, admission, cancel.</summary>
public sealed class ApiTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A job that runs for a minute unless cancelled: one pool of 1 cpu (its minimum) on a simulated GPU of its own.</summary>
    private string LongJob(string output) => $$"""
        name: long
        read: { format: range, count: 1000000, block_rows: 32 }
        stages:
          - { name: A, op: simulate, per_row_ms: 1, batch_size: 32, pool: { min: 1, max: 1 }, resources: { cpus: 1, gpus: 1 } }
        write: { format: jsonl, path: {{_dir["root/" + output]}} }
        execution: { sim_gpus: 1 }
        """;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    private static Task<HttpResponseMessage> SubmitAsync(HttpClient http, string spec) => JobsApi.SubmitAsync(http, spec);

    private static Task<JsonElement> WaitForAsync(HttpClient http, string id, Func<JsonElement, bool> until) => JobsApi.WaitForAsync(http, id, until);

    [Fact]
    public async Task Api_WithoutAValidToken_Is401AndHealthzIsOpen()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var none = host.Client(token: null);
        using var wrong = host.Client(token: "not-a-token");

        var refused = await none.GetAsync("api/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.PostAsync("api/jobs", new StringContent("x"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await none.GetAsync("healthz")).StatusCode);
        using var second = host.Client("test-token-2");
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("api/jobs")).StatusCode);
    }

    [Fact]
    public async Task Submit_InvalidSpec_IsAProblemDetailsListingEveryError()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        var spec = LongJob("out").Replace("batch_size: 32", "batch_size: 0", StringComparison.Ordinal).Replace("format: jsonl", "format: xml", StringComparison.Ordinal);

        var response = await SubmitAsync(http, spec);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await JsonAsync(response);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal("the job spec is not valid", problem.GetProperty("title").GetString());
        var errors = problem.GetProperty("errors").EnumerateArray().ToList();
        var batch = errors.Single(e => e.GetProperty("field").GetString() == "stages[0].batch_size");
        Assert.Equal("0", batch.GetProperty("value").GetString());
        Assert.Contains("positive", batch.GetProperty("accepted").GetString());
        Assert.Equal("spec line 4", batch.GetProperty("where").GetString());
        var format = errors.Single(e => e.GetProperty("field").GetString() == "write.format");
        Assert.Equal("xml", format.GetProperty("value").GetString());
        Assert.Equal("spec line 5", format.GetProperty("where").GetString());
    }

    [Fact]
    public async Task Submit_JsonSpec_IsAcceptedLikeYaml()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        var spec = JsonSerializer.Serialize(new
        {
            name = "json",
            read = new { format = "range", count = 64, block_rows = 32 },
            stages = new[] { new { name = "A", op = "simulate", per_row_ms = 0, pool = new { min = 1, max = 1 }, resources = new { gpus = 1 } } },
            write = new { format = "jsonl", path = _dir["root/json-out"] },
            execution = new { sim_gpus = 1 },
        });

        var response = await http.PostAsync("api/jobs", new StringContent(spec, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await JsonAsync(response)).GetProperty("id").GetString()!;
        Assert.Equal($"/api/jobs/{id}", response.Headers.Location?.OriginalString);
        var done = await WaitForAsync(http, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed");
        Assert.Equal("succeeded", done.GetProperty("state").GetString());
        Assert.Equal(64, done.GetProperty("progress").GetProperty("rows_done").GetInt64());
        Assert.Equal(64, File.ReadLines(Directory.GetFiles(_dir["root/json-out"], "part-*.jsonl").Single()).Count());
    }

    [Fact]
    public async Task Submit_PathsOutsideTheRoots_Is400NamingFieldPathAndRoots()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        var spec = LongJob("out").Replace(_dir["root/out"], _dir["root/../elsewhere/out"], StringComparison.Ordinal);

        var response = await SubmitAsync(http, spec);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await JsonAsync(response)).GetProperty("errors").EnumerateArray().Single();
        Assert.Equal("write.path", error.GetProperty("field").GetString());
        Assert.Equal(_dir["root/../elsewhere/out"], error.GetProperty("value").GetString());
        Assert.Contains(_dir["elsewhere/out"], error.GetProperty("accepted").GetString());
        Assert.Contains(host.Root, error.GetProperty("accepted").GetString());
        Assert.False(Directory.Exists(_dir["elsewhere"]));
    }

    [Fact]
    public async Task Submit_MoreThanTheNodeHolds_QueuesWithAReasonAndStartsWhenResourcesFree()
    {
        // Each job's minimum is one cpu: two run at once on a node of two, the third waits.
        await using var host = await ApiHost.StartAsync(_dir, new NodeResources(Cpus: 2, Gpus: 0, MemoryBytes: 8L << 30));
        using var http = host.Client();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var response = await SubmitAsync(http, LongJob($"out{i}"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            ids.Add((await JsonAsync(response)).GetProperty("id").GetString()!);
        }

        var third = await http.GetFromJsonAsync<JsonElement>($"api/jobs/{ids[2]}");
        Assert.Equal("queued", third.GetProperty("state").GetString());
        Assert.Contains("waiting for resources", third.GetProperty("reason").GetString());
        Assert.Contains("cpus 1 (free 0 of 2)", third.GetProperty("reason").GetString());
        var running = await http.GetFromJsonAsync<JsonElement>("api/jobs?state=running");
        Assert.Equal([ids[1], ids[0]], running.EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.False(running[0].TryGetProperty("spec", out _));

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"api/jobs/{ids[0]}/cancel", null)).StatusCode);
        await WaitForAsync(http, ids[0], j => j.GetProperty("state").GetString() == "cancelled");
        var started = await WaitForAsync(http, ids[2], j => j.GetProperty("state").GetString() == "running");
        Assert.Equal(JsonValueKind.Null, started.GetProperty("reason").ValueKind);

        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync($"api/jobs/{ids[0]}/cancel", null)).StatusCode);
        var log = await http.GetStringAsync($"api/jobs/{ids[2]}/log");
        Assert.Contains("waiting for resources", log);
        Assert.Contains("started", log);
        foreach (var id in ids.Skip(1)) await http.PostAsync($"api/jobs/{id}/cancel", null);
    }

    [Fact]
    public async Task Cancel_ThenResume_FinishesTheJobWithEveryRowOnce()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        var spec = LongJob("resumed").Replace("count: 1000000", "count: 8000", StringComparison.Ordinal);
        var id = (await JsonAsync(await SubmitAsync(http, spec))).GetProperty("id").GetString()!;
        await WaitForAsync(http, id, j => j.GetProperty("progress").GetProperty("rows_done").GetInt64() > 0);

        await http.PostAsync($"api/jobs/{id}/cancel", null);
        await WaitForAsync(http, id, j => j.GetProperty("state").GetString() == "cancelled");
        var resumed = await http.PostAsync($"api/jobs/{id}/resume", null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var done = await WaitForAsync(http, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed");

        Assert.Equal("succeeded", done.GetProperty("state").GetString());
        Assert.Equal(2, done.GetProperty("runs").GetInt32());
        var rows = Directory.GetFiles(_dir["root/resumed"], "part-*.jsonl").SelectMany(File.ReadLines).ToList();
        Assert.Equal(8000, rows.Count);
        Assert.Equal(8000, rows.Distinct().Count());
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync($"api/jobs/{id}/resume", null)).StatusCode);
    }

    [Fact]
    public async Task Stop_WithAJobRunning_RecordsItInterruptedForTheNextStart()
    {
        string id;
        await using (var host = await ApiHost.StartAsync(_dir))
        {
            using var http = host.Client();
            id = (await JsonAsync(await SubmitAsync(http, LongJob("stopped")))).GetProperty("id").GetString()!;
            await WaitForAsync(http, id, j => j.GetProperty("progress").GetProperty("rows_done").GetInt64() > 0);
        }

        await using (var host = await ApiHost.StartAsync(_dir))
        {
            using var http = host.Client();
            var job = await http.GetFromJsonAsync<JsonElement>($"api/jobs/{id}");
            Assert.Equal("interrupted", job.GetProperty("state").GetString());
            Assert.True(job.GetProperty("progress").GetProperty("rows_done").GetInt64() > 0);
            Assert.Contains("interrupted", await http.GetStringAsync($"api/jobs/{id}/log"));
        }
    }

    [Fact]
    public async Task Api_UnknownJobAndState_AreProblems()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/jobs/nope")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/jobs/nope/events")).StatusCode);
        var state = await http.GetAsync("api/jobs?state=sleeping");
        Assert.Equal(HttpStatusCode.BadRequest, state.StatusCode);
        Assert.Contains("interrupted", (await JsonAsync(state)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task OpenApi_DescribesTheJobRoutes()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client(token: null);
        var doc = await http.GetFromJsonAsync<JsonElement>("openapi/v1.json");
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/api/jobs", "/api/jobs/{id}", "/api/jobs/{id}/cancel", "/api/jobs/{id}/resume", "/api/jobs/{id}/events", "/api/jobs/{id}/log" })
            Assert.True(paths.TryGetProperty(path, out _), path);
    }
}
