using System.Diagnostics;
using System.Text.Json;
using Sluice.Cli.Commands;
using Sluice.Jobs;
using Sluice.Contracts;
using Sluice.IO;

namespace Sluice.Cli.Tests;

/// <summary>
/// Each case a new user hit, where `sluice run` exited 0 with `_SUCCESS` over wrong output: now it ends
/// in exactly-once output, or is refused before the output is touched, saying what differs and that
/// --overwrite starts over. Jobs run in process (a simulate stage that takes no time) except where a
/// second process is the point.
/// </summary>
public sealed class OutputIntegrityTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Spec(string input, string output, string format = "jsonl", int blockRows = 10, double perRowMs = 0, string write = "") => $$"""
        name: integrity
        read: { format: jsonl, path: {{input}}, block_rows: {{blockRows}} }
        stages:
          - { name: sim, op: simulate, per_row_ms: {{perRowMs}}, batch_size: 8 }
        write: { format: {{format}}, path: {{output}}{{write}} }
        execution: { sim_gpus: 1 }
        """;

    private static async Task<long> RunAsync(string yaml, WriteMode? mode = null, params string[] overrides)
    {
        var spec = JobSpecParser.Parse(yaml, "job.yaml", overrides);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), mode, quiet: true, CancellationToken.None);
        return stats.Operators[^1].RowsOut;
    }

    private static async Task<SluiceException> RefusedAsync(string yaml, WriteMode? mode = null, params string[] overrides) =>
        await Assert.ThrowsAnyAsync<SluiceException>(() => RunAsync(yaml, mode, overrides));

    /// <summary>Writes <paramref name="count"/> rows {"id": first..} to a JSON Lines file.</summary>
    private void WriteInput(string relative, int first, int count)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_dir[relative])!);
        File.WriteAllLines(_dir[relative], Enumerable.Range(first, count).Select(i => $"{{\"id\":{i}}}"));
    }

    /// <summary>The ids in the output's part files (JSON Lines), in no particular order.</summary>
    private List<long> OutputIds(string output) =>
        Directory.GetFiles(_dir[output], "part-*").SelectMany(File.ReadLines)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64()).ToList();

    /// <summary>Every file of an output but its lock, with its bytes: "untouched" means equal to this.</summary>
    private Dictionary<string, string> Contents(string output) =>
        Directory.EnumerateFiles(_dir[output], "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith("_sluice.lock", StringComparison.Ordinal))
            .ToDictionary(f => f, f => Convert.ToBase64String(File.ReadAllBytes(f)));

    [Fact]
    public async Task Run_ResumeAfterAnInputThatSortsFirstWasAdded_RefusedNamingItThenOverwriteWritesEachRowOnce()
    {
        WriteInput("in/b.jsonl", 0, 30);
        WriteInput("in/c.jsonl", 30, 30);
        var yaml = Spec(_dir["in/*.jsonl"], _dir["out"]);
        Assert.Equal(60, await RunAsync(yaml));
        var before = Contents("out");
        WriteInput("in/a.jsonl", 100, 25);

        var e = await RefusedAsync(yaml, WriteMode.Resume);

        Assert.Contains($"input '{_dir["in/a.jsonl"]}' is new", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Contents("out"));
        Assert.Equal(85, await RunAsync(yaml, WriteMode.Overwrite));
        Assert.Equal(Enumerable.Range(0, 60).Concat(Enumerable.Range(100, 25)).Select(i => (long)i), OutputIds("out").Order());
    }

    [Fact]
    public async Task Run_ResumeAfterAnInputWasRewrittenOrRemoved_RefusedNamingTheFile()
    {
        WriteInput("in/a.jsonl", 0, 30);
        WriteInput("in/b.jsonl", 30, 30);
        var yaml = Spec(_dir["in/*.jsonl"], _dir["out"]);
        await RunAsync(yaml);
        WriteInput("in/a.jsonl", 0, 31);

        var rewritten = await RefusedAsync(yaml, WriteMode.Resume);
        File.Delete(_dir["in/a.jsonl"]);
        var removed = await RefusedAsync(yaml, WriteMode.Resume);

        Assert.Contains($"input '{_dir["in/a.jsonl"]}' was ", rewritten.Message, StringComparison.Ordinal);
        Assert.Contains($"input '{_dir["in/a.jsonl"]}' is gone", removed.Message, StringComparison.Ordinal);
        Assert.Equal(60, OutputIds("out").Count);
    }

    [Fact]
    public async Task Run_ResumeWithOtherBlockRows_RefusedNamingReadBlockRowsAndOverwrite()
    {
        WriteInput("in/a.jsonl", 0, 50);
        var yaml = Spec(_dir["in/a.jsonl"], _dir["out"]);
        await RunAsync(yaml);
        var before = Contents("out");

        var e = await RefusedAsync(yaml, WriteMode.Resume, "read.block_rows=7");

        Assert.Contains("read.block_rows was 10, now 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Contents("out"));
    }

    [Fact]
    public async Task Run_ResumeWithOtherStageOrWriteFormat_RefusedNamingTheField()
    {
        WriteInput("in/a.jsonl", 0, 20);
        var yaml = Spec(_dir["in/a.jsonl"], _dir["out"]);
        await RunAsync(yaml);

        var stage = await RefusedAsync(yaml, WriteMode.Resume, "stages[0].batch_size=4");
        var format = await RefusedAsync(Spec(_dir["in/a.jsonl"], _dir["out"], format: "parquet"), WriteMode.Resume);
        var input = await RefusedAsync(Spec(_dir["in/*.jsonl"], _dir["out"]), WriteMode.Resume);

        Assert.Contains("stages[0].batch_size was 8, now 4", stage.Message, StringComparison.Ordinal);
        Assert.Contains("write.format was jsonl, now parquet", format.Message, StringComparison.Ordinal);
        Assert.Contains("read.source was jsonl(", input.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ResumeAfterPartsDeletedAndTruncated_RewritesThemExactlyOnce()
    {
        WriteInput("in/a.jsonl", 0, 40);
        WriteInput("in/b.jsonl", 40, 40);
        // Two blocks per part file: a damaged part takes both its blocks (and their read task) back.
        var yaml = Spec(_dir["in/*.jsonl"], _dir["out"], write: ", rows_per_file: 20");
        await RunAsync(yaml);
        var parts = Directory.GetFiles(_dir["out"], "part-*").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(4, parts.Count);
        File.Delete(parts[1]);
        var last = File.ReadAllBytes(parts[^1]);
        File.WriteAllBytes(parts[^1], last[..(last.Length / 2)]);

        await RunAsync(yaml, WriteMode.Resume);

        Assert.Equal(Enumerable.Range(0, 80).Select(i => (long)i), OutputIds("out").Order());
        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
    }

    [Fact]
    public async Task Run_WhileAnotherRunHoldsTheOutput_ResumeAndOverwriteRefusedNamingTheHolder()
    {
        WriteInput("in/a.jsonl", 0, 20);
        var yaml = Spec(_dir["in/a.jsonl"], _dir["out"]);
        await RunAsync(yaml);
        var before = Contents("out");
        // Another run in this process holds the output (a run in another process is the next test).
        var holder = Sinks.JsonLines(_dir["out"]);
        await holder.OpenAsync(WriteMode.Resume, CancellationToken.None);

        var overwrite = await RefusedAsync(yaml, WriteMode.Overwrite);
        var resume = await RefusedAsync(yaml, WriteMode.Resume);
        await holder.AbortAsync();

        Assert.Contains($"being written by another run (pid {Environment.ProcessId} on {Environment.MachineName}", overwrite.Message, StringComparison.Ordinal);
        Assert.Contains("another run", resume.Message, StringComparison.Ordinal);
        Assert.Equal(before, Contents("out"));
        Assert.Equal(20, await RunAsync(yaml, WriteMode.Overwrite));
    }

    [Fact]
    public async Task Run_WhileAnotherProcessWrites_RefusedNamingItsPid_AndItsLockIsTakenOverOnceItIsKilled()
    {
        WriteInput("in/a.jsonl", 0, 40);
        // A second a row: the other process is still writing when this one tries (it is killed long before its 40 s).
        File.WriteAllText(_dir["job.yaml"], Spec(_dir["in/a.jsonl"], _dir["out"], perRowMs: 1000));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "sluice.dll"), "run", _dir["job.yaml"], "--quiet" }) info.ArgumentList.Add(a);
        using var other = Process.Start(info)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(_dir["out/_sluice.lock.holder"]) && !other.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
            // Its stderr is read only once it has exited: reading it sooner waits for the exit.
            if (other.HasExited) Assert.Fail($"the other run ended early: {await other.StandardError.ReadToEndAsync()}");

            var e = await RefusedAsync(Spec(_dir["in/a.jsonl"], _dir["out"]), WriteMode.Overwrite);
            Assert.Contains($"pid {other.Id}", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            other.Kill();
            await other.WaitForExitAsync();
        }

        // The killed process's lock is stale: the OS released it, so the next run takes it over.
        await RunAsync(Spec(_dir["in/a.jsonl"], _dir["out"]), WriteMode.Overwrite);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), OutputIds("out").Order());
    }

    [Fact]
    public async Task Run_OutputInsideTheInputsGlob_RefusedBeforeWriting()
    {
        WriteInput("data/a.jsonl", 0, 30);

        var e = await RefusedAsync(Spec(_dir["data/*.jsonl"], _dir["data"]));

        Assert.Contains("inside the job's input", e.Message, StringComparison.Ordinal);
        Assert.Equal([_dir["data/a.jsonl"]], Directory.GetFileSystemEntries(_dir["data"]));
    }

    [Fact]
    public async Task Run_OutputBelowAnInputDirectory_ResumeNeverReadsItsOwnParts()
    {
        WriteInput("data/a.jsonl", 0, 30);
        var yaml = Spec(_dir["data"], _dir["data/out"]);

        await RunAsync(yaml);
        await RunAsync(yaml, WriteMode.Resume);
        await RunAsync(yaml, WriteMode.Resume);

        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), OutputIds("data/out").Order());
    }

    [Fact]
    public async Task Run_GlobOverAnOutput_ReadsOnlyItsParts()
    {
        WriteInput("in/a.jsonl", 0, 30);
        await RunAsync(Spec(_dir["in/a.jsonl"], _dir["first"]));

        var rows = await RunAsync(Spec(_dir["first/*"], _dir["second"]));

        Assert.Equal(30, rows);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), OutputIds("second").Order());
    }

    [Fact]
    public async Task Run_IntoExistingOutput_RefusalNamesResumeAndOverwrite()
    {
        WriteInput("in/a.jsonl", 0, 10);
        var yaml = Spec(_dir["in/a.jsonl"], _dir["out"]);
        await RunAsync(yaml);

        var e = await RefusedAsync(yaml);

        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OutputPathIsAFileOrUnderOne_OneLineErrorNamingThePath()
    {
        WriteInput("in/a.jsonl", 0, 10);
        File.WriteAllText(_dir["file"], "keep");

        var isFile = await RefusedAsync(Spec(_dir["in/a.jsonl"], _dir["file"]));
        var underFile = await RefusedAsync(Spec(_dir["in/a.jsonl"], _dir["file/out"]));

        Assert.Contains($"output '{_dir["file"]}' is a file", isFile.Message, StringComparison.Ordinal);
        Assert.Contains($"output '{_dir["file/out"]}' cannot be created", underFile.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', isFile.Message + underFile.Message);
        Assert.Equal("keep", File.ReadAllText(_dir["file"]));
    }

    [Fact]
    public async Task Run_InputWithInvalidUtf8_WritesEveryRowAndWarnsNamingFileLineAndCount()
    {
        Directory.CreateDirectory(_dir["in"]);
        // Latin-1 'é' (0xE9) where UTF-8 was expected, on lines 2 and 4.
        File.WriteAllBytes(_dir["in/a.jsonl"], [.. "{\"id\":0}\n{\"id\":1,\"s\":\"caf"u8, 0xE9, .. "\"}\n{\"id\":2}\n{\"id\":3,\"s\":\""u8, 0xE9, .. "\"}\n"u8]);
        File.WriteAllText(_dir["job.yaml"], Spec(_dir["in/a.jsonl"], _dir["out"]));
        var spec = JobSpecParser.Parse(File.ReadAllText(_dir["job.yaml"]), "job.yaml", []);

        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        Assert.Equal([0L, 1, 2, 3], OutputIds("out").Order());
        var warning = Assert.Single(stats.Warnings);
        Assert.Equal(2, warning.Count);
        Assert.StartsWith($"{_dir["in/a.jsonl"]} line 2: bytes that are not UTF-8", warning.Message, StringComparison.Ordinal);
        var (code, stderr) = await SluiceAsync("run", _dir["job.yaml"], "--quiet", "--overwrite");
        Assert.Equal(0, code);
        Assert.Equal($"warning: {warning.Message}", stderr.Trim());
    }

    /// <summary>Runs the real `sluice` (for what only a process shows: its exit code and what it prints).</summary>
    private static async Task<(int Code, string Stderr)> SluiceAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var run = Process.Start(info)!;
        var stdout = run.StandardOutput.ReadToEndAsync();
        var stderr = await run.StandardError.ReadToEndAsync();
        await stdout;
        await run.WaitForExitAsync();
        return (run.ExitCode, stderr);
    }

    [Fact]
    public async Task Main_OutputPathIsAFile_PrintsOneLineAndFails()
    {
        WriteInput("in/a.jsonl", 0, 10);
        File.WriteAllText(_dir["file"], "keep");
        File.WriteAllText(_dir["job.yaml"], Spec(_dir["in/a.jsonl"], _dir["file"]));

        var (code, stderr) = await SluiceAsync("run", _dir["job.yaml"], "--quiet");

        Assert.NotEqual(0, code);
        Assert.Equal($"error: output '{_dir["file"]}' is a file, not a directory; give write.path a directory (it is created if missing) or move the file away", stderr.Trim());
    }
}
