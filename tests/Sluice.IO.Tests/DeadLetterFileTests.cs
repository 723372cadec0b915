using System.Text.Json;
using Sluice.Blocks;
using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

/// <summary>Dead letters in a file sink: written to <c>_errors/</c> in the commit of their block's part, exactly once across a kill and a resume.</summary>
public sealed class DeadLetterFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string Out => _dir.File("out");

    public void Dispose() => _dir.Dispose();

    private static Block BlockWithLetters(int task, int rows, params long[] failedRows) =>
        new(Batch(Rows(rows)), new BlockLineage(task, $"in/{task}.txt", 0, 0))
        {
            DeadLetters = [.. failedRows.Select(r => new DeadLetter("embed", $"bad row {r}", $"in/{task}.txt", r, $"{{\"id\":{r}}}", DateTimeOffset.UnixEpoch, Kept: true)),
                new DeadLetter("embed", "skipped", $"in/{task}.txt", 99, "{}", DateTimeOffset.UnixEpoch, Kept: false)],
        };

    private string[] ErrorLines() =>
        Directory.Exists(Path.Combine(Out, "_errors")) ? [.. Directory.GetFiles(Path.Combine(Out, "_errors")).Order().SelectMany(File.ReadAllLines)] : [];

    [Fact]
    public async Task WriteAsync_BlockWithDeadLetters_KeptOnesCommittedInErrorsWithThePart()
    {
        var sink = Sinks.Parquet(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(BlockWithLetters(0, 5, 3, 7), CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);

        var lines = ErrorLines();
        Assert.Equal(2, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("embed", first.GetProperty("stage").GetString());
        Assert.Equal("bad row 3", first.GetProperty("error").GetString());
        Assert.Equal("in/0.txt", first.GetProperty("task").GetString());
        Assert.Equal(3, first.GetProperty("row").GetInt64());
        Assert.Equal(3, first.GetProperty("input").GetProperty("id").GetInt64());
        Assert.True(first.TryGetProperty("time", out _));
        // The manifest line that commits the part names its dead letters' file: they commit together.
        var record = JsonDocument.Parse(File.ReadAllLines(Path.Combine(Out, "_manifest.jsonl")).Single(l => l.Contains("\"file\""))).RootElement;
        var part = record.GetProperty("part").GetString()!;
        Assert.Equal(Path.ChangeExtension(part, ".jsonl"), record.GetProperty("errors").GetString());
    }

    [Fact]
    public async Task WriteAsync_EveryRowFailed_EmptyBlockStillCommitsItsDeadLetters()
    {
        var sink = Sinks.JsonLines(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(BlockWithLetters(1, 0, 1, 2, 3), CancellationToken.None);
        Assert.Empty(Directory.GetFiles(Out, "part-*"));
        Assert.Equal(3, ErrorLines().Length);
    }

    [Fact]
    public async Task AppendAsync_KilledBeforeThePartCommitted_ResumeWritesEachDeadLetterOnce()
    {
        var sink = Sinks.Parquet(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(BlockWithLetters(0, 5, 1), CancellationToken.None);
        // Block 1 waits in the open part (not committed), then the process dies.
        Assert.Empty(await sink.AppendAsync(BlockWithLetters(1, 5, 2, 4), CancellationToken.None));
        ((IDisposable)sink).Dispose();
        // A kill between an errors file's rename and its manifest line leaves a file no line names.
        File.WriteAllText(Path.Combine(Out, "_errors", "part-00009-00000000-00000.jsonl"), "{\"stage\":\"embed\"}\n");

        var resumed = Sinks.Parquet(Out);
        var state = await resumed.OpenAsync(WriteMode.Resume, CancellationToken.None);
        Assert.Equal(["in/0.txt#0"], state.CommittedBlocks);
        Assert.Single(ErrorLines());
        await resumed.AppendAsync(BlockWithLetters(0, 5, 1), CancellationToken.None);
        await resumed.AppendAsync(BlockWithLetters(1, 5, 2, 4), CancellationToken.None);
        await resumed.CompleteAsync(CancellationToken.None);

        Assert.Equal(["in/0.txt 1", "in/1.txt 2", "in/1.txt 4"], ErrorLines().Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => $"{e.GetProperty("task").GetString()} {e.GetProperty("row").GetInt64()}").Order());
    }

    [Fact]
    public async Task OpenAsync_Overwrite_RemovesTheDeadLetters()
    {
        var sink = Sinks.Parquet(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await sink.WriteAsync(BlockWithLetters(0, 5, 1), CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);
        await Sinks.Parquet(Out).OpenAsync(WriteMode.Overwrite, CancellationToken.None);
        Assert.Empty(ErrorLines());
    }
}
