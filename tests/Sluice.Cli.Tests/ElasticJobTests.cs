using Sluice.Cli.Commands;
using Sluice.Jobs;
using Sluice.Execution;

namespace Sluice.Cli.Tests;

[Collection(ModelCollection.Name)]
public class ElasticJobTests(ModelFiles models) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string SimSpec() => $$"""
        name: sim
        read: { format: jsonl, path: {{_dir["rows.jsonl"]}}, block_rows: 32 }
        stages:
          - { name: A, op: simulate, per_row_ms: 0.1, pool: { min: 1, max: 4 }, resources: { gpus: 0.5 } }
          - { name: B, op: simulate, per_row_ms: 0.4, pool: { min: 1, max: 6 } }
        write: { format: jsonl, path: {{_dir["out"]}} }
        """;

    [Fact]
    public async Task Run_SimulateStagesWithSimGpus_WritesEveryRowAndReportsDeviceUtilization()
    {
        File.WriteAllLines(_dir["rows.jsonl"], Enumerable.Range(0, 2_000).Select(i => $"{{\"id\": {i}}}"));
        var spec = JobSpecParser.Parse(SimSpec(), "sim.yaml", ["execution.sim_gpus=4"]);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        Assert.Equal(2_000, stats.Operators[^1].RowsOut);
        Assert.Equal(4, stats.DeviceUtilization.Count);
        Assert.True(stats.DeviceUtilization.Sum() > 0);
        // Asked: 2,000 rows x (0.1 + 0.4) ms, whatever the clock did; held is at least that.
        Assert.Equal(1_000, stats.DeviceAsked.Sum(t => t.TotalMilliseconds), tolerance: 0.01);
        Assert.True(stats.DeviceBusy.Sum(t => t.TotalMilliseconds) >= 1_000 - 0.01, $"held {stats.DeviceBusy.Sum(t => t.TotalMilliseconds)} ms");
        Assert.Matches(@"^asked \d+ ?%, held \d+ ?%$", Sluice.Cli.Output.StatsView.Utilization(stats));
        Assert.Equal(2_000, Directory.GetFiles(_dir["out"], "part-*").Sum(f => File.ReadLines(f).Count()));
    }

    [Fact]
    public void Explain_SimGpus_ShowsNodeBudgetsAndPerActorResources()
    {
        File.WriteAllText(_dir["rows.jsonl"], "{\"id\": 1}\n");
        var spec = JobSpecParser.Parse(SimSpec(), "sim.yaml", ["execution.sim_gpus=4"]);
        var text = JobExecution.Explain(spec.Dataset(), spec.Sink(), spec.Options());
        Assert.Contains("gpus=4 (simulated)", text);
        Assert.Contains("A (SimulateProcessor)  actor pool 1..4, batch block, max_concurrency 2, per actor gpus=0.5", text);
        Assert.Contains("per actor gpus=1", text);
        Assert.Contains("actor pools hold at min: cpus 0 gpus 1.5; at max: cpus 0 gpus 8", text);
    }

    [Fact]
    public async Task Run_SimulateWithoutSimGpus_IsRefusedBeforeItStarts()
    {
        File.WriteAllText(_dir["rows.jsonl"], "{\"id\": 1}\n");
        var spec = JobSpecParser.Parse(SimSpec(), "sim.yaml", []);
        var e = await Assert.ThrowsAsync<SluiceException>(() => JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None));
        Assert.Contains("--sim-gpus", e.Message);
        Assert.False(Directory.Exists(_dir["out"]));
    }

    /// <summary>This machine has no GPU and the CPU build of ONNX Runtime: a GPU onnx stage must be refused up front, saying what to install.</summary>
    [Fact]
    public async Task Run_OnnxStageAskingForGpu_WhereNoGpuOrCudaExists_IsRefusedSayingWhatToInstall()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var spec = JobSpecParser.Parse(yaml, "job.yaml", ["stages.embed.resources.gpus=1", "stages.embed.resources.cpus=0"]);
        var e = await Assert.ThrowsAsync<SluiceException>(() => JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None));
        Assert.Contains("the job cannot start", e.Message);
        Assert.Contains("stage 'embed'", e.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", e.Message);
        Assert.Contains("libcudnn.so.9", e.Message);
        Assert.False(Directory.Exists(_dir["out"]));
    }
}
