using System.Globalization;
using System.Text.RegularExpressions;
using Sluice.Execution;

namespace Sluice.Service.Tests;

/// <summary><c>/metrics</c> of the service: the engine's per-stage row counters of a finished job equal the rows it wrote.</summary>
public sealed class ServiceMetricsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Metrics_AfterAJob_TheWriteStagesRowCounterEqualsTheRowsWritten()
    {
        await using var host = await ApiHost.StartAsync(_dir, new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(1));
        using var http = host.Client();
        var spec = $$"""
            name: counted
            read: { format: range, count: 3000, block_rows: 100 }
            stages:
              - { name: sim, op: simulate, per_row_ms: 0.01, batch_size: 50, pool: { min: 1, max: 1 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{_dir["root/out"]}} }
            execution: { sim_gpus: 1 }
            """;
        var id = await JobsApi.SubmitAcceptedAsync(http, spec);
        var ended = await JobsApi.WaitForAsync(http, id, j => j.GetProperty("state").GetString() is not ("queued" or "running"));
        Assert.Equal("succeeded", ended.GetProperty("state").GetString());
        var written = Directory.GetFiles(_dir["root/out"], "part-*").Sum(f => File.ReadLines(f).LongCount());

        using var none = host.Client(token: null);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await none.GetAsync("metrics")).StatusCode); // stage labels name paths
        var metrics = await http.GetStringAsync("metrics");

        Assert.Equal(3000, written);
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("sluice_stage_rows_total{", StringComparison.Ordinal)
            && l.Contains($"sluice_job=\"{id}\"", StringComparison.Ordinal) && l.Contains("sluice_stage_kind=\"write\"", StringComparison.Ordinal));
        Assert.True(line is not null, "no write-stage row counter for the job in /metrics:\n" + string.Join('\n', metrics.Split('\n').Where(l => l.Contains("sluice_stage_rows", StringComparison.Ordinal)).Take(20)));
        var value = double.Parse(Regex.Match(line!, @"\}\s+(\S+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(written, (long)value);
    }
}
