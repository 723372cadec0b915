using Sluice.Testing;
using Sluice.Cli.Commands;
using Sluice.Jobs;
using Xunit.Abstractions;

namespace Sluice.Cli.Tests;

/// <summary><c>sluice partition</c> as a real process, and a job that runs the plan it wrote (<c>partition: { plan: DIR }</c>).</summary>
[Collection(ModelCollection.Name)]
public sealed class PartitionCommandTests(ModelFiles models, ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Task<(int Code, string Out, string Err)> SluiceAsync(params string[] args) => SluiceProcess.RunAsync(args);

    [Fact]
    public async Task Partition_MaxStageBytesAsSize_WritesPlanThatAJobRuns()
    {
        var (code, stdout, stderr) = await SluiceAsync("partition", models.MiniLm.Model, "--max-stage-bytes", "64MiB", "--out", _dir["plan"]);
        output.WriteLine(stdout + stderr);

        Assert.Equal(0, code);
        Assert.Contains("param bytes", stdout);
        Assert.Contains($"wrote 2 stages and plan.json to {_dir["plan"]}", stdout);
        Assert.True(File.Exists(Path.Combine(_dir["plan"], "stage1.onnx")));

        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(12));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var spec = JobSpecParser.Parse(yaml, "job.yaml", [$"stages.embed.partition.plan={_dir["plan"]}"]);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        Assert.Equal(["embed.0", "embed.1"], stats.Operators.Where(o => o.Name.StartsWith("embed", StringComparison.Ordinal)).Select(o => o.Name));
        Assert.Equal(12, stats.Operators[^1].RowsOut);
    }

    [Fact]
    public async Task Partition_BadSize_ExitsNonZeroNamingTheOption()
    {
        var (code, stdout, stderr) = await SluiceAsync("partition", models.MiniLm.Model, "--max-stage-bytes", "64XB", "--out", _dir["plan"]);

        Assert.NotEqual(0, code);
        Assert.Contains("--max-stage-bytes: '64XB' is not accepted", stdout + stderr);
        Assert.False(Directory.Exists(_dir["plan"]) && Directory.EnumerateFiles(_dir["plan"]).Any());
    }

    [Fact]
    public void Parse_PlanDirectoryWithoutPlan_SaysWhatToGive()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(3));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", [$"stages.embed.partition.plan={_dir["nothing"]}"]));
        Assert.Contains("stages[1].partition.plan:", Assert.Single(e.Errors).ToString());
        Assert.Contains("sluice partition", e.Errors[0].ToString());
    }
}
