using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.IO;
using Sluice.Testing;

namespace Sluice.Service.Tests;

/// <summary>
/// Issue 11's acceptance: a real <c>sluice serve</c> on a loopback port; the MiniLM job submitted over HTTP with a token,
/// followed through <c>/events</c> to its end, its output checked; 401 without a token, 400 for a path outside the roots;
/// the service killed mid-job and restarted on the same state: the finished job is in the history, the killed one is
/// interrupted and resumes to every row once. The CLI client (<c>sluice submit</c>, <c>sluice jobs</c>) against it too.
/// </summary>
public sealed class ServeAcceptanceTests : IDisposable
{
    private const int Rows = 300;
    private const int SimRows = 10_000;
    private const string Token = "acceptance-token";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string MiniLmSpec(PackagedModelFiles model) => $$"""
        name: embed-text
        read: { format: text, path: {{_dir["root/data/docs.txt"]}}, block_rows: 64 }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: {{model.Vocab}}, column: text, max_length: 128 }
          - { name: embed, op: onnx, model: {{model.Model}}, pooling: mean, batch_size: 16, pool: { min: 1, max: 2 }, resources: { cpus: 1 } }
        write: { format: parquet, path: {{_dir["root/out/embeddings"]}} }
        """;

    /// <summary>About 5 s of simulated GPU time: long enough to be killed mid-run.</summary>
    private string SimSpec() => $$"""
        name: sim
        read: { format: range, count: {{SimRows}}, block_rows: 50 }
        stages:
          - { name: gpu, op: simulate, per_row_ms: 1, batch_size: 50, pool: { min: 1, max: 2 }, resources: { gpus: 1 } }
        write: { format: jsonl, path: {{_dir["root/out/sim"]}} }
        execution: { sim_gpus: 2 }
        """;

    private static async Task<string> SubmitAsync(HttpClient http, string spec)
    {
        var response = await http.PostAsync("api/jobs", new StringContent(spec, Encoding.UTF8, "application/yaml"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task Serve_MiniLmJobOverHttp_RunsIsRefusedWithoutTokenOrOutsideRootsAndSurvivesARestart()
    {
        var model = PackagedModels.ExportMiniLm(_dir.Dir("root/models"));
        _dir.Dir("root/data");
        var lines = Enumerable.Range(0, Rows).Select(i => $"Sluice streams batches through bounded queues, row {i}.").ToList();
        await File.WriteAllLinesAsync(_dir["root/data/docs.txt"], lines);
        await File.WriteAllTextAsync(_dir["outside.txt"], "not for jobs\n");
        await File.WriteAllTextAsync(_dir["tokens"], $"# the service's tokens\n{Token}\n");
        string embedId, simId;

        await using (var serve = await ServeProcess.StartAsync(_dir["tokens"], _dir["state"], _dir["root"]))
        {
            using var http = serve.Client(Token);
            using var anonymous = serve.Client(null);

            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("healthz")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/jobs")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("api/jobs", new StringContent(MiniLmSpec(model)))).StatusCode);

            var outside = MiniLmSpec(model).Replace(_dir["root/data/docs.txt"], _dir["root/data/../../outside.txt"], StringComparison.Ordinal);
            var refused = await http.PostAsync("api/jobs", new StringContent(outside));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0];
            Assert.Equal("read.path", error.GetProperty("field").GetString());
            Assert.Contains(_dir["outside.txt"], error.GetProperty("accepted").GetString());

            embedId = await SubmitAsync(http, MiniLmSpec(model));
            var events = await Sse.FollowAsync(http, $"api/jobs/{embedId}/events", TimeSpan.FromMinutes(3));

            Assert.Equal("end", events[^1].Event);
            Assert.All(events.SkipLast(1), e => Assert.Equal("snapshot", e.Event));
            Assert.Contains(events, e => e.Data.GetProperty("state").GetString() == "running");
            var final = events[^1].Data;
            Assert.True(final.GetProperty("state").GetString() == "succeeded", final.GetProperty("error").ToString());
            Assert.Equal(Rows, final.GetProperty("progress").GetProperty("rows_done").GetInt64());
            Assert.Equal(100, final.GetProperty("progress").GetProperty("percent").GetDouble());
            var stages = final.GetProperty("snapshot").GetProperty("operators").EnumerateArray().Select(o => o.GetProperty("name").GetString()).ToList();
            Assert.Contains("tokenize", stages);
            Assert.Contains("embed", stages);
            await AssertEmbeddingsAsync(_dir["root/out/embeddings"], lines);
            Assert.Contains("stage 'embed' pool", await http.GetStringAsync($"api/jobs/{embedId}/log"));

            // A job running when the service dies: killed, not stopped.
            simId = await SubmitAsync(http, SimSpec());
            for (var i = 0; i < 300; i++)
            {
                var job = await http.GetFromJsonAsync<JsonElement>($"api/jobs/{simId}");
                if (job.GetProperty("progress").GetProperty("rows_done").GetInt64() > 0) break;
                await Task.Delay(50);
            }
            await serve.KillAsync();
        }

        await using (var serve = await ServeProcess.StartAsync(_dir["tokens"], _dir["state"], _dir["root"]))
        {
            using var http = serve.Client(Token);
            var history = await http.GetFromJsonAsync<JsonElement>("api/jobs");
            var states = history.EnumerateArray().ToDictionary(j => j.GetProperty("id").GetString()!, j => j.GetProperty("state").GetString());
            Assert.Equal("succeeded", states[embedId]);
            Assert.Equal("interrupted", states[simId]);
            var embed = await http.GetFromJsonAsync<JsonElement>($"api/jobs/{embedId}");
            Assert.Equal(Rows, embed.GetProperty("snapshot").GetProperty("operators").EnumerateArray().Last().GetProperty("rows_out").GetInt64());
            Assert.Contains("succeeded", await http.GetStringAsync($"api/jobs/{embedId}/log"));

            await ClientCommandsAsync(serve.Url, embedId, simId);

            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"api/jobs/{simId}/resume", null)).StatusCode);
            var resumed = (await Sse.FollowAsync(http, $"api/jobs/{simId}/events", TimeSpan.FromMinutes(2)))[^1].Data;
            Assert.True(resumed.GetProperty("state").GetString() == "succeeded", resumed.GetProperty("error").ToString());
            var rows = Directory.GetFiles(_dir["root/out/sim"], "part-*.jsonl").SelectMany(File.ReadLines).ToList();
            Assert.Equal(SimRows, rows.Count);
            Assert.Equal(SimRows, rows.Distinct().Count());
        }
    }

    /// <summary>The CLI client against the restarted service: list, show, logs, submit, and a refused token.</summary>
    private async Task ClientCommandsAsync(Uri server, string embedId, string simId)
    {
        var env = new Dictionary<string, string> { ["SLUICE_SERVER"] = server.ToString(), ["SLUICE_TOKEN"] = Token };

        var (code, list, err) = await SluiceProcess.RunAsync(env, "jobs", "list");
        Assert.True(code == 0, err);
        Assert.Contains(list.Split('\n'), l => l.StartsWith(embedId, StringComparison.Ordinal) && l.Contains("succeeded", StringComparison.Ordinal));
        Assert.Contains(list.Split('\n'), l => l.StartsWith(simId, StringComparison.Ordinal) && l.Contains("interrupted", StringComparison.Ordinal));

        (code, var show, err) = await SluiceProcess.RunAsync(env, "jobs", "show", embedId);
        Assert.True(code == 0, err);
        Assert.Contains($"job {embedId} 'embed-text': succeeded", show);
        Assert.Contains($"rows written: {Rows:N0}", show);

        (code, var log, err) = await SluiceProcess.RunAsync("jobs", "logs", embedId, "--server", server.ToString(), "--token-file", _dir["tokens"]);
        Assert.True(code == 0, err);
        Assert.Contains("started", log);

        var outside = _dir["outside.yaml"];
        await File.WriteAllTextAsync(outside, SimSpec().Replace(_dir["root/out/sim"], "/etc/sluice-out", StringComparison.Ordinal));
        (code, _, err) = await SluiceProcess.RunAsync(env, "submit", outside);
        Assert.Equal(1, code);
        Assert.Contains("write.path: '/etc/sluice-out' is not accepted", err);

        (code, _, err) = await SluiceProcess.RunAsync(new Dictionary<string, string> { ["SLUICE_SERVER"] = server.ToString(), ["SLUICE_TOKEN"] = "wrong" }, "jobs", "list");
        Assert.Equal(1, code);
        Assert.Contains("the server refused the token; set SLUICE_TOKEN or --token-file", err);
        Assert.DoesNotContain("wrong", err);
    }

    private static async Task AssertEmbeddingsAsync(string dir, List<string> lines)
    {
        var texts = new List<string>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync())
        {
            var text = (StringArray)batch.Column("text");
            var embedding = (FixedSizeListArray)batch.Column("embedding");
            for (var i = 0; i < batch.Length; i++)
            {
                texts.Add(text.GetString(i));
                var vector = ((FloatArray)embedding.GetSlicedValues(i)).Values;
                Assert.Equal(384, vector.Length);
                // Mean-pooled and L2-normalized.
                var norm = 0.0;
                foreach (var v in vector) norm += v * v;
                Assert.Equal(1.0, Math.Sqrt(norm), 3);
            }
        }
        Assert.Equal(lines.Order(StringComparer.Ordinal), texts.Order(StringComparer.Ordinal));
    }
}
