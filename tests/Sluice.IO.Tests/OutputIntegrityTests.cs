using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.IO.Output;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

/// <summary>A file sink refuses, before touching the output, what would make it silently wrong; and repairs what it can verify.</summary>
public sealed class OutputIntegrityTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string Out => _dir.File("out");

    public void Dispose() => _dir.Dispose();

    private static OutputFingerprint Fingerprint(int blockRows = 1024, string format = "jsonl") =>
        new(new Dictionary<string, string> { ["read.block_rows"] = blockRows.ToString(System.Globalization.CultureInfo.InvariantCulture), ["write.format"] = format });

    private static Block MakeBlock(int taskIndex, int seq, int rows, int firstRow = 0) =>
        new(Batch(Rows(rows, firstRow)), new BlockLineage(taskIndex, $"in/{taskIndex}.txt", seq, firstRow));

    private static void Kill(Datasink sink) => ((IDisposable)sink).Dispose();

    /// <summary>Writes task 0 (two blocks, complete) and task 1 (one block, not complete), then "kills" the sink.</summary>
    private async Task WriteKilledAsync(OutputFingerprint? fingerprint = null)
    {
        var sink = Sinks.JsonLines(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, fingerprint ?? Fingerprint(), null, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 1, 5, 5), CancellationToken.None);
        await sink.MarkTaskCompleteAsync("in/0.txt", 2, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(1, 0, 3, 10), CancellationToken.None);
        Kill(sink);
    }

    private Dictionary<string, byte[]> Snapshot() =>
        Directory.EnumerateFiles(Out, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(OutputLock.FileName, StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);

    [Fact]
    public async Task OpenAsync_ResumeWithOtherBlockRows_RefusesNamingFieldAndOverwriteLeavingOutputUntouched()
    {
        await WriteKilledAsync();
        Directory.CreateDirectory(Path.Combine(Out, ".tmp"));
        await File.WriteAllTextAsync(Path.Combine(Out, ".tmp", "half"), "x");
        var before = Snapshot();

        var e = await Assert.ThrowsAsync<SluiceException>(() =>
            Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(blockRows: 100), null, CancellationToken.None).AsTask());

        Assert.Contains("read.block_rows was 1024, now 100", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
        Assert.Equal(before.Keys.Order(), Snapshot().Keys.Order());
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
    }

    [Fact]
    public async Task OpenAsync_ResumeOfACompleteOutput_KeepsSuccessWhileIntact_DropsItFirstWhenAPartMustBeRewritten()
    {
        var sink = Sinks.JsonLines(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 1, 5, 5), CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);

        var intact = Sinks.JsonLines(Out);
        await intact.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        await intact.AbortAsync();
        Assert.True(File.Exists(Path.Combine(Out, "_SUCCESS")));

        File.Delete(Directory.GetFiles(Out, "part-*").Order(StringComparer.Ordinal).First());
        var damaged = Sinks.JsonLines(Out);
        var state = await damaged.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        Assert.Single(state.CommittedBlocks);
        // Not complete until this run writes the missing part and completes: no reader may take it for whole meanwhile.
        Assert.False(File.Exists(Path.Combine(Out, "_SUCCESS")));
        await damaged.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await damaged.CompleteAsync(CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(Out, "_SUCCESS")));
    }

    [Fact]
    public async Task OpenAsync_ManifestNamingAPartOutsideTheOutput_IsRefusedAsCorruptNamingTheLine()
    {
        await WriteKilledAsync();
        var manifest = Path.Combine(Out, SinkManifest.FileName);
        var lines = File.ReadAllLines(manifest).ToList();
        lines.Insert(1, """{"kind":"file","part":"../../etc/passwd","rows":1,"blocks":[{"key":"in/9.txt#0","rows":1}]}""");
        File.WriteAllLines(manifest, lines);

        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None).AsTask());

        Assert.Contains("line 2 is corrupt", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overwrite", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_ResumeWithSameFingerprint_ReturnsCommittedState()
    {
        await WriteKilledAsync();

        var state = await Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.Equal(["in/0.txt"], state.CompletedTasks);
        Assert.Equal(3, state.CommittedBlocks.Count);
    }

    [Fact]
    public async Task OpenAsync_ResumeOfManifestWithoutFingerprint_AdoptsAndChecksTheNextResume()
    {
        var first = Sinks.JsonLines(Out);
        await first.OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None);
        await first.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        Kill(first);
        var adopted = Sinks.JsonLines(Out);
        await adopted.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        Kill(adopted);

        var e = await Assert.ThrowsAsync<SluiceException>(() =>
            Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(format: "parquet"), null, CancellationToken.None).AsTask());

        Assert.Contains("write.format was jsonl, now parquet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_ResumeAfterPartDeleted_RecomputesItsBlockAndTask()
    {
        await WriteKilledAsync();
        File.Delete(Path.Combine(Out, FileDatasink.PartName(new BlockLineage(0, "in/0.txt", 1, 0), "jsonl")));

        var sink = Sinks.JsonLines(Out);
        var state = await sink.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 1, 5, 5), CancellationToken.None);
        await sink.WriteAsync(MakeBlock(1, 0, 3, 10), CancellationToken.None);

        Assert.Empty(state.CompletedTasks);
        Assert.Equal([Datasink.BlockKey("in/0.txt", 0), Datasink.BlockKey("in/1.txt", 0)], state.CommittedBlocks.Order(StringComparer.Ordinal));
        Assert.Equal(Rows(13).Select(AsDictionary), await ReadAllRowsAsync(Sources.JsonLines(Out)));
    }

    [Fact]
    public async Task OpenAsync_ResumeAfterPartTruncated_RecomputesIt()
    {
        await WriteKilledAsync();
        var part = Path.Combine(Out, FileDatasink.PartName(new BlockLineage(1, "in/1.txt", 0, 0), "jsonl"));
        var bytes = await File.ReadAllBytesAsync(part);
        await File.WriteAllBytesAsync(part, bytes[..(bytes.Length / 2)]);

        var state = await Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.DoesNotContain(Datasink.BlockKey("in/1.txt", 0), state.CommittedBlocks);
        Assert.Contains(Datasink.BlockKey("in/0.txt", 0), state.CommittedBlocks);
    }

    [Fact]
    public async Task OpenAsync_ResumeAfterPartChangedInPlace_ChecksumRecomputesIt()
    {
        await WriteKilledAsync();
        var part = Path.Combine(Out, FileDatasink.PartName(new BlockLineage(0, "in/0.txt", 0, 0), "jsonl"));
        var bytes = await File.ReadAllBytesAsync(part);
        bytes[2] ^= 0x01;
        await File.WriteAllBytesAsync(part, bytes);

        var state = await Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.DoesNotContain(Datasink.BlockKey("in/0.txt", 0), state.CommittedBlocks);
        Assert.DoesNotContain("in/0.txt", state.CompletedTasks);
        Assert.Contains(Datasink.BlockKey("in/0.txt", 1), state.CommittedBlocks);
    }

    [Fact]
    public async Task OpenAsync_ResumeWithPartsTheManifestLacks_RemovesThem()
    {
        await WriteKilledAsync();
        // An orphan of a kill between rename and record, named as an older version named parts.
        await File.WriteAllTextAsync(Path.Combine(Out, "part-00001-00001.jsonl"), "{\"id\":99}\n");

        await Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.False(File.Exists(Path.Combine(Out, "part-00001-00001.jsonl")));
        Assert.Equal(Rows(13).Select(AsDictionary), await ReadAllRowsAsync(Sources.JsonLines(Out)));
    }

    [Fact]
    public async Task OpenAsync_WhileAnotherSinkHoldsTheOutput_RefusesNamingTheHolderEvenForOverwrite()
    {
        var running = Sinks.JsonLines(Out);
        await running.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await running.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        var before = Snapshot();

        var resume = await Assert.ThrowsAsync<SluiceException>(() =>
            Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None).AsTask());
        var overwrite = Sinks.JsonLines(Out);
        var e = await Assert.ThrowsAsync<SluiceException>(() => overwrite.OpenAsync(WriteMode.Overwrite, Fingerprint(), null, CancellationToken.None).AsTask());
        await overwrite.AbortAsync();

        Assert.Contains($"pid {Environment.ProcessId}", resume.Message, StringComparison.Ordinal);
        Assert.Contains("another run", e.Message, StringComparison.Ordinal);
        Assert.Equal(before.Keys.Order(), Snapshot().Keys.Order());
        await running.CompleteAsync(CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(Out, "_SUCCESS")));
    }

    [Fact]
    public async Task OpenAsync_AfterTheHolderCompleted_TakesTheLock()
    {
        var first = Sinks.JsonLines(Out);
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await first.CompleteAsync(CancellationToken.None);

        var state = await Sinks.JsonLines(Out).OpenAsync(WriteMode.Overwrite, Fingerprint(), null, CancellationToken.None);

        Assert.Empty(state.CommittedBlocks);
        Assert.False(File.Exists(Path.Combine(Out, "_SUCCESS")));
    }

    [Fact]
    public void Acquire_LockLeftByDeadProcess_IsTakenOverAndNamesTheStaleHolder()
    {
        Directory.CreateDirectory(Out);
        // What a killed run leaves: the lock file (its OS lock gone with the process) and its holder record.
        File.WriteAllText(Path.Combine(Out, OutputLock.FileName), "");
        File.WriteAllText(Path.Combine(Out, OutputLock.HolderFileName), "pid 999999 on elsewhere, started 2026-01-01 00:00:00Z");

        using var taken = OutputLock.Acquire(Out);

        Assert.Equal("pid 999999 on elsewhere, started 2026-01-01 00:00:00Z", taken.StaleHolder);
        Assert.Contains($"pid {Environment.ProcessId}", File.ReadAllText(Path.Combine(Out, OutputLock.HolderFileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_OutputIsTheListedInputDirectory_RefusedBeforeCreatingAnything()
    {
        var inputs = new DatasourceInputs([], [Path.GetFullPath(Out)]);

        var e = await Assert.ThrowsAsync<SluiceException>(() =>
            Sinks.JsonLines(Out).OpenAsync(WriteMode.Resume, Fingerprint(), inputs, CancellationToken.None).AsTask());

        Assert.Contains("inside the job's input", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public async Task OpenAsync_InputFileInsideOutput_Refused()
    {
        var inputs = new DatasourceInputs([new InputFile(Path.Combine(Path.GetFullPath(Out), "sub", "a.txt"), 1, DateTime.UnixEpoch)], []);

        var e = await Assert.ThrowsAsync<SluiceException>(() =>
            Sinks.JsonLines(Out).OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), inputs, CancellationToken.None).AsTask());

        Assert.Contains("a.txt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_OutputPathIsAFile_RefusedNamingThePath()
    {
        await File.WriteAllTextAsync(Out, "not a directory");

        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.JsonLines(Out).OpenAsync(WriteMode.Overwrite, CancellationToken.None).AsTask());

        Assert.Contains($"output '{Out}' is a file", e.Message, StringComparison.Ordinal);
        Assert.Equal("not a directory", await File.ReadAllTextAsync(Out));
    }

    [Fact]
    public async Task OpenAsync_OutputUnderAFile_RefusedNamingThePath()
    {
        await File.WriteAllTextAsync(_dir.File("plain"), "x");
        var output = Path.Combine(_dir.File("plain"), "out");

        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.JsonLines(output).OpenAsync(WriteMode.ErrorIfExists, CancellationToken.None).AsTask());

        Assert.Contains($"output '{output}' cannot be created", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PartName_TasksSharingAnIndex_NeverCollide()
    {
        // Inputs changed between runs: another file now has index 0.
        var before = FileDatasink.PartName(new BlockLineage(0, "docs/b.txt", 0, 0), "jsonl");
        var after = FileDatasink.PartName(new BlockLineage(0, "docs/a.txt", 0, 0), "jsonl");

        Assert.NotEqual(before, after);
        Assert.StartsWith("part-00000-", before, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_GlobOverAnOutput_ReadsNoMetadata()
    {
        var sink = Sinks.JsonLines(Out);
        await sink.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await sink.WriteAsync(MakeBlock(0, 0, 5), CancellationToken.None);
        await sink.MarkTaskCompleteAsync("in/0.txt", 1, CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);

        var tasks = await Sources.JsonLines(Path.Combine(Out, "*")).PlanAsync(CancellationToken.None);

        Assert.All(tasks, t => Assert.StartsWith("part-", Path.GetFileName(t.Id), StringComparison.Ordinal));
        Assert.Equal(Rows(5).Select(AsDictionary), await ReadAllRowsAsync(Sources.JsonLines(Path.Combine(Out, "*"))));
    }

    [Fact]
    public async Task DescribeInputs_CsvWithOptions_StatesDelimiterAndColumnTypes()
    {
        await File.WriteAllTextAsync(_dir.File("a.csv"), "id;name\n1;x\n");
        var source = Sources.Csv(_dir.File("a.csv"), new CsvOptions { Delimiter = ';', ColumnTypes = new Dictionary<string, string> { ["id"] = "int64" } });

        var inputs = source.DescribeInputs()!;

        Assert.Equal("delimiter ';', column_types {id: int64}", inputs.Options);
        Assert.Empty(inputs.ListedDirectories);
    }

    [Fact]
    public async Task DescribeInputs_Glob_ListsFilesWithSizesAndTheGlobsDirectory()
    {
        Directory.CreateDirectory(_dir.File("in"));
        await File.WriteAllTextAsync(_dir.File("in/a.txt"), "one\n");
        var source = Sources.Text(Path.Combine(_dir.File("in"), "*.txt"));
        await source.PlanAsync(CancellationToken.None);

        var inputs = source.DescribeInputs()!;

        Assert.Equal(4, Assert.Single(inputs.Files).Length);
        Assert.Equal([Path.GetFullPath(_dir.File("in"))], inputs.ListedDirectories);
    }
}
