using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Sluice.Execution;
using Sluice.Jobs;
using Sluice.Telemetry;

namespace Sluice.Cli.Tests;

/// <summary>The one call a host (the job service) makes: AddSluiceMetrics, then jobs it starts are on /metrics.</summary>
public class SluiceMetricsExtensionsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AddSluiceMetrics_HostRunsAJob_MetricsShowItsRowsWritten()
    {
        var port = FreePort();
        var services = new ServiceCollection().AddSluiceMetrics(new SluiceMetricsOptions { Prometheus = $"127.0.0.1:{port}", ServiceName = "sluice-test" });
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<MeterProvider>();   // a host starts it; here it is asked for
        var name = "in-process-" + Guid.NewGuid().ToString("N")[..6];
        var spec = JobSpecParser.Parse($$"""
            name: {{name}}
            read: { format: range, count: 1000, block_rows: 50 }
            stages:
              - { name: A, op: simulate, per_row_ms: 0.2, batch_size: 50, pool: { min: 1, max: 2 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{_dir["out"]}} }
            execution: { sim_gpus: 2 }
            """, "job.yaml", []);
        var final = await JobExecution.Start(spec.Dataset(), spec.Sink(), spec.Options()).Completion;
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        var line = text.Split('\n').Single(l => l.StartsWith("sluice_stage_rows_total{", StringComparison.Ordinal)
            && l.Contains($"sluice_job=\"{name}\"", StringComparison.Ordinal) && l.Contains("sluice_stage_kind=\"write\"", StringComparison.Ordinal));
        Assert.Equal(final.Operators[^1].RowsOut, long.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], CultureInfo.InvariantCulture));
        Assert.Equal(1000, final.Operators[^1].RowsOut);
    }

    [Fact]
    public async Task AddSluiceMetrics_TextJobOfKnownSize_ReportsProgressDoneAtTheEnd()
    {
        var port = FreePort();
        await using var provider = new ServiceCollection().AddSluiceMetrics(new SluiceMetricsOptions { Prometheus = $"127.0.0.1:{port}" }).BuildServiceProvider();
        _ = provider.GetRequiredService<MeterProvider>();
        File.WriteAllLines(_dir["in.txt"], Enumerable.Range(0, 500).Select(i => $"line {i}"));
        var name = "progress-" + Guid.NewGuid().ToString("N")[..6];
        var spec = JobSpecParser.Parse($$"""
            name: {{name}}
            read: { format: text, path: {{_dir["in.txt"]}}, block_rows: 50 }
            stages:
              - { name: A, op: simulate, per_row_ms: 0.2, batch_size: 50, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{_dir["out-text"]}} }
            execution: { sim_gpus: 1 }
            """, "job.yaml", []);
        var run = JobExecution.Start(spec.Dataset(), spec.Sink(), spec.Options());
        await run.Completion;
        Assert.Equal(1, run.Progress!.Fraction);
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        var line = text.Split('\n').Single(l => l.StartsWith("sluice_job_progress{", StringComparison.Ordinal) && l.Contains($"sluice_job=\"{name}\"", StringComparison.Ordinal));
        Assert.Equal(1, double.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], CultureInfo.InvariantCulture));
    }


    [Theory]
    [InlineData("localhost:9464")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:99999")]
    public void AddSluiceMetrics_BadListenAddress_IsRefusedWithWhatIsAccepted(string listen)
    {
        var e = Assert.Throws<SluiceException>(() => new ServiceCollection().AddSluiceMetrics(new SluiceMetricsOptions { Prometheus = listen }));
        Assert.Contains($"--metrics: '{listen}' is not accepted; give HOST:PORT", e.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
