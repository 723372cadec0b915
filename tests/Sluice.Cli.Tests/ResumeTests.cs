using System.Diagnostics;
using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Jobs;
using Sluice.Execution;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cli.Tests;

/// <summary>A real `sluice run` process killed mid-job (SIGKILL), then resumed: the output equals a clean run's.</summary>
[Collection(ModelCollection.Name)]
public class ResumeTests(ModelFiles models, ITestOutputHelper log) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Process Start(string spec, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        info.ArgumentList.Add("run");
        info.ArgumentList.Add(spec);
        info.ArgumentList.Add("--quiet");
        foreach (var e in extra) info.ArgumentList.Add(e);
        return Process.Start(info)!;
    }

    private static int CommittedBlocks(string output)
    {
        var manifest = Path.Combine(output, "_manifest.jsonl");
        if (!File.Exists(manifest)) return 0;
        using var stream = new FileStream(manifest, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n').Count(l => l.Contains("\"kind\":\"file\"", StringComparison.Ordinal));
    }

    private static async Task<SortedDictionary<string, List<(string Text, float[] Embedding)>>> PartsAsync(string output)
    {
        var parts = new SortedDictionary<string, List<(string, float[])>>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(output, "part-*"))
        {
            var rows = new List<(string, float[])>();
            await foreach (var batch in Read.Parquet(file).IterateBatchesAsync(new ExecutionOptions { PreserveOrder = true }))
            {
                var text = (StringArray)batch.Column("text");
                var emb = (FixedSizeListArray)batch.Column("embedding");
                for (var i = 0; i < batch.Length; i++) rows.Add((text.GetString(i), ((FloatArray)emb.GetSlicedValues(i)).Values.ToArray()));
            }
            parts[Path.GetFileName(file)] = rows;
        }
        return parts;
    }

    [Fact]
    public async Task Run_KilledMidJobThenResumed_EndsWithExactlyTheRowsOfACleanRun()
    {
        var lines = Jobs.Lines(600);
        Directory.CreateDirectory(_dir["docs"]);
        for (var f = 0; f < 3; f++) File.WriteAllLines(_dir[$"docs/{f}.txt"], lines.Skip(f * 200).Take(200));
        var yaml = Jobs.EmbedSpec(_dir["docs/*.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["killed"], blockRows: 20,
            // A part file per block: parts commit while the job runs, and each is named after its one block in both runs.
            write: ", rows_per_file: 20");
        File.WriteAllText(_dir["job.yaml"], yaml);

        // The reference: the same job, uninterrupted.
        var spec = JobSpecParser.Parse(yaml, "job.yaml", [$"write.path={_dir["clean"]}"]);
        var clock = Stopwatch.StartNew();
        await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        log.WriteLine($"clean run: {clock.Elapsed}");

        using (var first = Start(_dir["job.yaml"]))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            // Watch from a plain thread: the kill must land on time whatever the test host's pools are doing.
            // Watch from a plain thread: the kill must land on time whatever the test host's pools are doing.
            var watcher = new Thread(() =>
            {
                while (CommittedBlocks(_dir["killed"]) < 4 && !first.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
            });
            watcher.Start();
            watcher.Join();
            if (first.HasExited) Assert.Fail("the job ended before it could be killed: " + await first.StandardError.ReadToEndAsync());
            log.WriteLine($"kill at {clock.Elapsed} with {CommittedBlocks(_dir["killed"])} blocks committed");
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }
        var committedAtKill = CommittedBlocks(_dir["killed"]);
        Assert.InRange(committedAtKill, 4, 29);
        Assert.False(File.Exists(_dir["killed/_SUCCESS"]));

        using (var resumed = Start(_dir["job.yaml"], "--resume"))
        {
            var stderr = resumed.StandardError.ReadToEndAsync();
            await resumed.WaitForExitAsync();
            Assert.True(resumed.ExitCode == 0, await stderr);
        }
        log.WriteLine($"resumed by {clock.Elapsed}");
        Assert.True(File.Exists(_dir["killed/_SUCCESS"]));
        Assert.False(Directory.Exists(_dir["killed/.tmp"]));

        var clean = await PartsAsync(_dir["clean"]);
        var killed = await PartsAsync(_dir["killed"]);
        Assert.Equal(clean.Keys, killed.Keys);
        foreach (var (part, rows) in clean)
        {
            Assert.Equal(rows.Select(r => r.Text), killed[part].Select(r => r.Text));
            for (var i = 0; i < rows.Count; i++) Assert.Equal(rows[i].Embedding, killed[part][i].Embedding);
        }
        var all = killed.Values.SelectMany(r => r).Select(r => r.Text).ToList();
        Assert.Equal(600, all.Count);
        Assert.Equal(600, all.Distinct().Count());
    }
}
