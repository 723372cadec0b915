using System.Text.Json;
using Sluice.Blocks;
using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

/// <summary>The exactly-once cases every file datasink must pass.</summary>
public abstract class DatasinkConformance : IDisposable
{
    protected TempDir Dir { get; } = new();

    protected string Out => Dir.File("out");

    /// <summary>The part files' extension, without the dot.</summary>
    protected abstract string Extension { get; }

    protected abstract Datasink Create(string directory);

    /// <summary>A datasource that reads the sink's output directory back.</summary>
    protected abstract Datasource ReadBack(string directory);

    public void Dispose()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static Block MakeBlock(int taskIndex, int seq, int rows, int firstRow = 0) =>
        new(Batch(Rows(rows, firstRow)), new BlockLineage(taskIndex, $"in/{taskIndex}.txt", seq, firstRow));

    protected string[] ManifestLines() => File.ReadAllLines(Path.Combine(Out, "_manifest.jsonl"));

    /// <summary>The part name of block <paramref name="seq"/> of <see cref="MakeBlock"/>'s task <paramref name="taskIndex"/>.</summary>
    protected string Part(int taskIndex, int seq) =>
        Sluice.IO.Output.FileDatasink.PartName(new BlockLineage(taskIndex, $"in/{taskIndex}.txt", seq, 0), Extension);

    /// <summary>Stands for a killed process: the sink's lock goes (as the OS releases it), nothing is cleaned up.</summary>
    protected static Datasink Kill(Datasink sink)
    {
        ((IDisposable)sink).Dispose();
        return sink;
    }

    private async Task<Datasink> OpenAsync(WriteMode mode = WriteMode.ErrorIfExists)
    {
        var sink = Create(Out);
        await sink.OpenAsync(mode, CancellationToken.None);
        return sink;
    }

    private async Task WriteTwoTasksAsync(Datasink sink)
    {
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 1, 5, firstRow: 5), CancellationToken.None);
        await sink.MarkTaskCompleteAsync("in/0.txt", 2, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(1, 0, 3, firstRow: 10), CancellationToken.None);
        Kill(sink);
    }

    [Fact]
    public async Task WriteAsync_Blocks_PartsNamedByLineageAndRowsReadBack()
    {
        var sink = await OpenAsync();
        await WriteTwoTasksAsync(sink);

        var parts = Directory.GetFiles(Out, "part-*").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var rows = await ReadAllRowsAsync(ReadBack(Out));

        Assert.Equal([Part(0, 0), Part(0, 1), Part(1, 0)], parts);
        Assert.Equal(Rows(13).Select(AsDictionary), rows);
    }

    [Fact]
    public async Task WriteAsync_Blocks_ManifestRecordsBlocksAndTasks()
    {
        var sink = await OpenAsync();
        await WriteTwoTasksAsync(sink);

        var records = ManifestLines().Select(l => JsonDocument.Parse(l).RootElement).ToList();

        Assert.Equal(4, records.Count);
        Assert.Equal("file", records[0].GetProperty("kind").GetString());
        var block = Assert.Single(records[0].GetProperty("blocks").EnumerateArray());
        Assert.Equal(Datasink.BlockKey("in/0.txt", 0), block.GetProperty("key").GetString());
        Assert.Equal(5, block.GetProperty("rows").GetInt32());
        Assert.Equal(Part(0, 0), records[0].GetProperty("part").GetString());
        Assert.Equal(5, records[0].GetProperty("rows").GetInt32());
        Assert.Equal("task", records[2].GetProperty("kind").GetString());
        Assert.Equal("in/0.txt", records[2].GetProperty("task").GetString());
        Assert.Equal(2, records[2].GetProperty("blocks").GetInt32());
    }

    [Fact]
    public async Task OpenAsync_ResumeAfterWrites_ReturnsCommittedBlocksAndCompletedTasks()
    {
        await WriteTwoTasksAsync(await OpenAsync());

        var state = await Create(Out).OpenAsync(WriteMode.Resume, CancellationToken.None);

        Assert.Equal(["in/0.txt"], state.CompletedTasks);
        Assert.Equal(
            new[] { Datasink.BlockKey("in/0.txt", 0), Datasink.BlockKey("in/0.txt", 1), Datasink.BlockKey("in/1.txt", 0) }.ToHashSet(),
            state.CommittedBlocks.ToHashSet());
    }

    [Fact]
    public async Task WriteAsync_CommittedKey_SkippedEvenAfterResume()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        Kill(sink);
        var resumed = await OpenAsync(WriteMode.Resume);
        await resumed.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await resumed.MarkTaskCompleteAsync("in/0.txt", 1, CancellationToken.None);
        await resumed.MarkTaskCompleteAsync("in/0.txt", 1, CancellationToken.None);

        Assert.Equal(2, ManifestLines().Length);
        Assert.Single(Directory.GetFiles(Out, "part-*"));
    }

    [Fact]
    public async Task OpenAsync_ErrorIfExistsOnWrittenOutput_RefusesWithResumeHint()
    {
        await WriteTwoTasksAsync(await OpenAsync());

        var e = await Assert.ThrowsAsync<SluiceException>(() => Create(Out).OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None).AsTask());

        Assert.Contains(Out, e.Message, StringComparison.Ordinal);
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_Overwrite_ClearsPartsManifestAndSuccess()
    {
        var sink = await OpenAsync();
        await WriteTwoTasksAsync(sink);

        var state = await Create(Out).OpenAsync(WriteMode.Overwrite, CancellationToken.None);

        Assert.Empty(state.CommittedBlocks);
        Assert.Empty(state.CompletedTasks);
        // Only the lock remains, held by the overwriting sink.
        Assert.All(Directory.GetFileSystemEntries(Out), e => Assert.StartsWith("_sluice.lock", Path.GetFileName(e), StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenAsync_ResumeWithTornManifestLine_DropsItAndAppendsCleanly()
    {
        await WriteTwoTasksAsync(await OpenAsync());
        await File.AppendAllTextAsync(Path.Combine(Out, "_manifest.jsonl"), "{\"kind\":\"task\",\"task\":\"in/1.t");

        var resumed = Create(Out);
        var state = await resumed.OpenAsync(WriteMode.Resume, CancellationToken.None);
        await resumed.MarkTaskCompleteAsync("in/1.txt", 1, CancellationToken.None);

        Assert.Equal(["in/0.txt"], state.CompletedTasks);
        Assert.Equal(3, state.CommittedBlocks.Count);
        Assert.All(ManifestLines(), l => JsonDocument.Parse(l).Dispose());
        Assert.Equal(5, ManifestLines().Length);
    }

    [Fact]
    public async Task OpenAsync_ResumeAfterKill_RemovesTmpAndIgnoresOrphanPart()
    {
        await Kill(await OpenAsync()).WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        Directory.CreateDirectory(Path.Combine(Out, ".tmp"));
        await File.WriteAllTextAsync(Path.Combine(Out, ".tmp", $"{Part(0, 1)}.abc"), "half");
        File.Copy(Path.Combine(Out, Part(0, 0)), Path.Combine(Out, Part(0, 1)));

        var resumed = Create(Out);
        var state = await resumed.OpenAsync(WriteMode.Resume, CancellationToken.None);
        await resumed.WriteAsync(MakeBlock(0, 1, 5, firstRow: 5), CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(Out, ".tmp")) && Directory.EnumerateFileSystemEntries(Path.Combine(Out, ".tmp")).Any());
        Assert.Equal([Datasink.BlockKey("in/0.txt", 0)], state.CommittedBlocks);
        Assert.Equal(Rows(10).Select(AsDictionary), await ReadAllRowsAsync(ReadBack(Out)));
    }

    [Fact]
    public async Task CompleteAsync_AfterWrites_WritesSuccessAndLeavesNoTmp()
    {
        var sink = await OpenAsync();
        await WriteTwoTasksAsync(sink);

        await sink.CompleteAsync(CancellationToken.None);

        Assert.True(File.Exists(Path.Combine(Out, "_SUCCESS")));
        Assert.False(Directory.Exists(Path.Combine(Out, ".tmp")));
    }

    [Fact]
    public async Task WriteAsync_EmptyBlock_RecordedWithoutPartFile()
    {
        var sink = await OpenAsync();

        await Kill(sink).WriteAsync(MakeBlock(2, 0, 0), CancellationToken.None);

        var record = JsonDocument.Parse(Assert.Single(ManifestLines())).RootElement;
        Assert.Equal(JsonValueKind.Null, record.GetProperty("part").ValueKind);
        Assert.Equal(0, record.GetProperty("rows").GetInt32());
        Assert.Empty(Directory.GetFiles(Out, "part-*"));
        Assert.Contains(Datasink.BlockKey("in/2.txt", 0), (await Create(Out).OpenAsync(WriteMode.Resume, CancellationToken.None)).CommittedBlocks);
    }

    [Fact]
    public async Task WriteAsync_ConcurrentBlocks_EachRecordedOnceOnWholeLines()
    {
        var sink = await OpenAsync();

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => sink.WriteAsync(MakeBlock(i, 0, 4, firstRow: 4 * i), CancellationToken.None).AsTask())));

        var keys = ManifestLines().SelectMany(l => JsonDocument.Parse(l).RootElement.GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("key").GetString())).ToList();
        Assert.Equal(16, keys.Distinct().Count());
        Assert.Equal(16, keys.Count);
        Assert.Equal(Rows(64).Select(AsDictionary), await ReadAllRowsAsync(ReadBack(Out)));
    }
}
