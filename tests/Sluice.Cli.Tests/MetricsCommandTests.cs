using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Sluice.Cli.Tests;

/// <summary><c>sluice run</c> as a process: <c>--metrics</c> serves /metrics for Prometheus, <c>--verbose</c> shows the decision log.</summary>
public partial class MetricsCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string SimJob(string name, int rows)
    {
        var path = _dir[$"{name}.yaml"];
        File.WriteAllText(path, $$"""
            name: {{name}}
            read: { format: range, count: {{rows}}, block_rows: 32 }
            stages:
              - { name: A, op: simulate, per_row_ms: 0.5, batch_size: 32, pool: { min: 1, max: 4 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{_dir["out-" + name]}} }
            execution: { sim_gpus: 4 }
            """);
        return path;
    }

    [Fact]
    public async Task Run_WithMetrics_ScrapeAtTheEndCountsTheRowsWrittenPerStage()
    {
        var port = FreePort();
        var job = SimJob("metrics-e2e", 2_000);
        using var process = Start("run", job, "--quiet", "--metrics", $"127.0.0.1:{port}", "--metrics-linger", "120");
        try
        {
            // The job is over when the CLI says what it wrote; /metrics stays up (--metrics-linger) for this last scrape.
            var wrote = await ReadUntilAsync(process.StandardOutput, l => l.StartsWith("wrote ", StringComparison.Ordinal));
            var rowsWritten = long.Parse(WroteRows().Match(wrote).Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            Assert.Equal(2_000, rowsWritten);
            using var http = new HttpClient();
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            var rows = Series(text, "sluice_stage_rows_total").Where(s => s.Labels.Contains("sluice_job=\"metrics-e2e\"", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, rows.Count);   // read, A, write
            var write = Assert.Single(rows, s => s.Labels.Contains("sluice_stage_kind=\"write\"", StringComparison.Ordinal));
            Assert.Equal(rowsWritten, write.Value);
            Assert.All(rows, s => Assert.Equal(rowsWritten, s.Value));
            Assert.Equal(rowsWritten, Directory.GetFiles(_dir["out-metrics-e2e"], "part-*.jsonl").Sum(f => File.ReadLines(f).LongCount()));
            Assert.Contains(Series(text, "sluice_stage_actors"), s => s.Labels.Contains("state=\"idle\"", StringComparison.Ordinal));
            Assert.NotEmpty(Series(text, "sluice_device_busy_time_seconds_total"));
            Assert.Contains(Series(text, "sluice_scaling_decisions_total"), s => s.Labels.Contains("direction=\"up\"", StringComparison.Ordinal) && s.Value >= 1);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Run_Verbose_ShowsScalingDecisions()
    {
        var job = SimJob("verbose", 2_000);
        var (code, stdout, stderr) = await Sluice.Testing.SluiceProcess.RunAsync("run", job, "--verbose");
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote 2,000 rows", stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d\.\d info stage 'A' pool up \d+: ", stderr);
        // The default shows no log; a bad level is refused with what is accepted.
        var quiet = await Sluice.Testing.SluiceProcess.RunAsync("run", SimJob("quiet", 200), "--quiet");
        Assert.DoesNotContain("pool up", quiet.Err, StringComparison.Ordinal);
        var bad = await Sluice.Testing.SluiceProcess.RunAsync("run", SimJob("bad", 200), "--log-level", "loud");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--log-level: 'loud' is not accepted", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_WithMetrics_ServesItsNodeNumbersWhileTheDriverRunsAJobThere()
    {
        using var redis = await Sluice.Testing.LocalRedis.StartAsync();
        var port = FreePort();
        var id = $"wm-{Guid.NewGuid():N}"[..9];
        using var worker = await Sluice.Testing.LocalWorkerProcess.StartAsync(redis.Uri, id, "--cpus", "1", "--memory", "1GiB", "--sim-gpus", "2",
            "--metrics", $"127.0.0.1:{port}");
        // The job's simulated GPU stage can only run on the worker (the driver has no GPUs).
        var (code, stdout, stderr) = await Sluice.Testing.SluiceProcess.RunAsync("run", SimJob("on-worker", 400), "--cluster", redis.Uri, "--workers", "1", "--quiet",
            "--set", "execution.sim_gpus=0");
        Assert.True(code == 0, stdout + stderr);
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        var busy = Series(text, "sluice_node_device_busy_time_seconds_total").Where(s => s.Labels.Contains($"sluice_node=\"{id}\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, busy.Count);
        Assert.True(busy.Sum(s => s.Value) > 0, text);
        Assert.Contains(Series(text, "sluice_node_held_bytes"), s => s.Labels.Contains($"sluice_node=\"{id}\"", StringComparison.Ordinal));
        Assert.Contains(Series(text, "sluice_node_active_tasks"), s => s.Labels.Contains($"sluice_node=\"{id}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_WithOtlp_PushesTheFinalCountsToTheCollectorWhenTheJobEnds()
    {
        var port = FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = new List<(string Path, string? Type, byte[] Body)>();
        var serving = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                HttpListenerContext context;
                try { context = await collector.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (received) received.Add((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });
        var (code, stdout, stderr) = await Sluice.Testing.SluiceProcess.RunAsync("run", SimJob("otlp-e2e", 300), "--quiet", "--otlp", $"http://127.0.0.1:{port}");
        Assert.True(code == 0, stdout + stderr);
        collector.Stop();
        await serving;
        var push = Assert.Single(received.Where(r => r.Path == "/v1/metrics").TakeLast(1));
        Assert.Equal("application/x-protobuf", push.Type);
        // OTLP's protobuf carries names and attribute values as UTF-8 strings.
        var text = System.Text.Encoding.UTF8.GetString(push.Body);
        Assert.Contains("sluice.stage.rows", text, StringComparison.Ordinal);
        Assert.Contains("otlp-e2e", text, StringComparison.Ordinal);
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<string> ReadUntilAsync(StreamReader reader, Func<string, bool> found)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
            if (found(line)) return line;
        throw new InvalidOperationException("the process ended before printing the line");
    }

    private static List<(string Labels, double Value)> Series(string exposition, string metric) =>
        exposition.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal))
            .Select(l => (l[..(l.LastIndexOf('}') + 1)], double.Parse(l[(l.LastIndexOf('}') + 2)..].Split(' ')[0], CultureInfo.InvariantCulture)))
            .ToList();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^wrote ([\d,]+) rows")]
    private static partial Regex WroteRows();
}
