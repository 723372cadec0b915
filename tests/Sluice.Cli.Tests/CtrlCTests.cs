using System.Diagnostics;

namespace Sluice.Cli.Tests;

/// <summary>
/// A real `sluice run` asked to stop mid-job: it stops cleanly, says how to resume, and the resume finishes the job with
/// every row once. `timeout` sends the signal (SIGTERM, what a container runtime sends; the CLI treats it as Ctrl-C),
/// 4 s into a job of about 13 s.
/// </summary>
public class CtrlCTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(int ExitCode, string Stderr)> RunAsync(string? stopAfter, params string[] extra)
    {
        var info = new ProcessStartInfo(stopAfter is null ? "dotnet" : "timeout") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var args = new List<string>();
        if (stopAfter is not null) args.AddRange(["--preserve-status", "--signal=TERM", stopAfter, "dotnet"]);
        args.AddRange([Path.Combine(AppContext.BaseDirectory, "sluice.dll"), "run", Repo.File("examples/sim-two-stage.yaml"), "--quiet",
            "--set", $"write.path={_dir["out"]}", "--set", "read.count=20000", .. extra]);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await stdout;
        return (process.ExitCode, await stderr);
    }

    [Fact]
    public async Task Run_StoppedMidJob_SaysHowToResumeAndTheResumeFinishesTheJob()
    {
        var (stopped, message) = await RunAsync("4s");

        Assert.True(stopped == 130, $"exit {stopped}: {message}");
        Assert.Contains("stopped; rerun with --resume to continue where the job left off", message);
        Assert.False(File.Exists(_dir["out/_SUCCESS"]));
        Assert.False(Directory.Exists(_dir["out/.tmp"]));

        var (resumed, error) = await RunAsync(null, "--resume");
        Assert.True(resumed == 0, error);
        var rows = Directory.GetFiles(_dir["out"], "part-*.jsonl").SelectMany(File.ReadLines).ToList();
        Assert.Equal(20_000, rows.Count);
        Assert.Equal(20_000, rows.Distinct().Count());
    }
}
