using System.Text.Json;
using Sluice.Cli.Commands;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Jobs;

namespace Sluice.Cli.Tests;

/// <summary>
/// Jobs without <c>block_rows</c> get blocks sized from their shape (issue 10): enough of them for every
/// actor of the widest pool, read tasks that split a large file, and a resume of such a job after a stop
/// writes every row exactly once. Jobs run in process on simulated GPUs with stages that take almost no time.
/// </summary>
public sealed class AutoBlockSizeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Two simulate stages on 8 simulated GPUs, as in issue 10's measurement (times shrunk so the test is quick).</summary>
    private string TwoStageSpec(string read) => $$"""
        name: untuned
        read: { format: text, path: {{_dir["docs.txt"]}}{{read}} }
        stages:
          - { name: A, op: simulate, per_row_ms: 0.01, pool: { min: 1, max: 8 } }
          - { name: B, op: simulate, per_row_ms: 0.04, pool: { min: 1, max: 8 } }
        write: { format: jsonl, path: {{_dir["out"]}} }
        execution: { sim_gpus: 8 }
        """;

    private static async Task<Sluice.Execution.Stats.ExecutionSnapshot> RunAsync(string yaml, WriteMode? mode = null, CancellationToken ct = default)
    {
        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);
        return await JobRunner.RunAsync(spec, spec.Dataset(), mode, quiet: true, ct);
    }

    private static string Explain(string yaml)
    {
        var spec = JobSpecParser.Parse(yaml, "job.yaml", []);
        return JobExecution.Explain(spec.Dataset(), spec.Sink(), spec.Options());
    }

    [Fact]
    public async Task Run_Untuned2822LineTextOn8SimGpus_EveryActorOfTheWidestPoolGetsSeveralBlocks()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(2822));
        var yaml = TwoStageSpec("");

        var plan = Explain(yaml);
        var stats = await RunAsync(yaml);

        // A fixed 1,024 rows made 3 blocks here: at most 3 of 8 actors ever worked.
        Assert.True(stats.Operators[0].BlocksOut >= 2 * 8, $"{stats.Operators[0].BlocksOut} blocks for 8 actors; plan: {plan}");
        Assert.Equal(2822, stats.Operators[^1].RowsOut);
        Assert.Contains("the widest pool 'A' has 16 slots (max 8 x max_concurrency 2)", plan, StringComparison.Ordinal);
        Assert.Contains("read tasks: 1; one read task per file", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ExplicitBlockRows_IsHonoured()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(2822));
        var yaml = TwoStageSpec(", block_rows: 1000");

        var plan = Explain(yaml);
        var stats = await RunAsync(yaml);

        Assert.Contains("1000 rows per block", plan, StringComparison.Ordinal);
        Assert.Contains("block size: given by read.block_rows", plan, StringComparison.Ordinal);
        Assert.Equal(3, stats.Operators[0].BlocksOut);
        Assert.Equal(2822, stats.Operators[^1].RowsOut);
    }

    /// <summary>A text file in ~8 line-aligned read tasks, a stop after a few committed blocks, then <c>--resume</c>.</summary>
    [Fact]
    public async Task Run_StoppedThenResumed_WithSplitReadTasks_WritesEveryLineExactlyOnce()
    {
        var lines = Enumerable.Range(0, 3000).Select(i => $"row {i} é").ToList();
        File.WriteAllLines(_dir["docs.txt"], lines);
        var yaml = $$"""
            name: split
            read: { format: text, path: {{_dir["docs.txt"]}}, split_bytes: 4096 }
            stages:
              - { name: sim, op: simulate, per_row_ms: 1, batch_size: 8, pool: { min: 1, max: 2 } }
            write: { format: jsonl, path: {{_dir["out"]}}, rows_per_file: 40 }
            execution: { sim_gpus: 2 }
            """;
        Assert.Contains("line-aligned byte ranges", Explain(yaml), StringComparison.Ordinal);
        // Small part files, so that some commit before the stop (the default 128 MiB file would hold the whole output).
        static bool Committed(string line) => line.Contains("\"kind\":\"file\"", StringComparison.Ordinal) || line.Contains("\"kind\":\"block\"", StringComparison.Ordinal);

        using (var stop = new CancellationTokenSource())
        {
            var run = RunAsync(yaml, null, stop.Token);
            while (!run.IsCompleted && Manifest().Count(Committed) < 4) await Task.Delay(10);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => run);
        }
        var committedBefore = Manifest().Count(Committed);
        Assert.InRange(committedBefore, 4, 10_000);
        Assert.False(File.Exists(_dir["out/_SUCCESS"]));

        await RunAsync(yaml, WriteMode.Resume);

        var written = Directory.GetFiles(_dir["out"], "part-*").SelectMany(File.ReadLines)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();
        Assert.Equal(lines.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));
        var tasks = Manifest().Where(l => l.Contains("\"kind\":\"task\"", StringComparison.Ordinal)).ToList();
        Assert.True(tasks.Count >= 7, $"{tasks.Count} read tasks");
        Assert.All(tasks, t => Assert.Contains("docs.txt@", t, StringComparison.Ordinal));
        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
    }

    /// <summary>
    /// Blocks cut into slices at the actor pool (more actors free than blocks) are written slice by slice, each under its
    /// own manifest key; a stop part-way and <c>--resume</c> write every line exactly once (a block whose slices were
    /// partly committed is cut the same way again and only the owed slices run).
    /// </summary>
    [Fact]
    public async Task Run_SlicedBlocks_StoppedThenResumed_WritesEveryLineExactlyOnce()
    {
        var lines = Enumerable.Range(0, 256).Select(i => $"line {i}").ToList();
        File.WriteAllLines(_dir["docs.txt"], lines);
        var yaml = $$"""
            name: sliced
            read: { format: text, path: {{_dir["docs.txt"]}}, block_rows: 64 }
            stages:
              - { name: sim, op: simulate, per_row_ms: 4, batch_size: 4, max_concurrency: 1, pool: { min: 4, max: 4 } }
            write: { format: jsonl, path: {{_dir["out"]}}, rows_per_file: 4 }
            execution: { sim_gpus: 4 }
            """;
        static bool Committed(string line) => line.Contains("\"kind\":\"file\"", StringComparison.Ordinal);

        using (var stop = new CancellationTokenSource())
        {
            var run = RunAsync(yaml, null, stop.Token);
            while (!run.IsCompleted && Manifest().Count(Committed) < 6) await Task.Delay(5);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => run);
        }
        Assert.Contains(Manifest(), l => Committed(l) && l.Contains('~', StringComparison.Ordinal)); // slices have keys of their own
        Assert.False(File.Exists(_dir["out/_SUCCESS"]));

        var stats = await RunAsync(yaml, WriteMode.Resume);

        var written = Directory.GetFiles(_dir["out"], "part-*").SelectMany(File.ReadLines)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!).ToList();
        Assert.Equal(lines.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));
        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
        Assert.Single(Manifest(), l => l.Contains("\"kind\":\"task\"", StringComparison.Ordinal));
        Assert.True(stats.Operators.Single(o => o.Name == "sim").RowsOut < lines.Count, "the resume ran only what was owed");
    }

    [Fact]
    public async Task Run_ResumeAfterASplitInputChanged_RefusedNamingTheInput()
    {
        File.WriteAllLines(_dir["docs.txt"], Enumerable.Range(0, 2000).Select(i => $"row {i}"));
        var yaml = TwoStageSpec(", split_bytes: 4096");
        await RunAsync(yaml);
        File.AppendAllLines(_dir["docs.txt"], ["one more row"]);

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => RunAsync(yaml, WriteMode.Resume));

        Assert.Contains("docs.txt", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
    }

    private List<string> Manifest()
    {
        var path = _dir["out/_manifest.jsonl"];
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
