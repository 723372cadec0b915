using Sluice.Contracts;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests;

/// <summary>The cases every file datasource must pass; a format's test class says how to write a fixture file.</summary>
public abstract class DatasourceConformance : IDisposable
{
    protected TempDir Dir { get; } = new();

    /// <summary>The fixture files' extension, without the dot.</summary>
    protected abstract string Extension { get; }

    protected abstract void WriteFixture(string path, IReadOnlyList<SampleRow> rows);

    protected abstract Datasource Open(string path);

    /// <summary>How a sample row reads back from this format.</summary>
    protected virtual Dictionary<string, object?> Expected(SampleRow row) => AsDictionary(row);

    public void Dispose()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private string Write(string name, int count, int first = 0)
    {
        var path = Dir.File($"{name}.{Extension}");
        WriteFixture(path, Rows(count, first));
        return path;
    }

    [Fact]
    public async Task ReadAsync_AllTasks_RowsRoundTrip()
    {
        var path = Write("data", 10);

        var rows = await ReadAllRowsAsync(Open(path), blockRows: 4);

        Assert.Equal(Rows(10).Select(Expected), rows);
    }

    [Fact]
    public async Task PlanAsync_CalledTwice_SameTaskIds()
    {
        var path = Write("data", 10);
        var source = Open(path);

        var first = (await source.PlanAsync(CancellationToken.None)).Select(t => t.Id).ToList();
        var second = (await Open(path).PlanAsync(CancellationToken.None)).Select(t => t.Id).ToList();

        Assert.NotEmpty(first);
        Assert.Equal(first, second);
        Assert.All(first, id => Assert.StartsWith(path, id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanAsync_Directory_TasksSortedByPathAndMetadataSkipped()
    {
        Write("c", 2, first: 4);
        Write("a", 2, first: 0);
        Write("b", 2, first: 2);
        File.WriteAllText(Dir.File("_SUCCESS"), "");

        var tasks = await Open(Dir.Path).PlanAsync(CancellationToken.None);
        var rows = await ReadAllRowsAsync(Open(Dir.Path));

        Assert.Equal(tasks.Select(t => t.Id).Order(StringComparer.Ordinal), tasks.Select(t => t.Id));
        Assert.Equal(Rows(6).Select(Expected), rows);
    }

    [Fact]
    public async Task PlanAsync_Glob_MatchesOnlyThePattern()
    {
        Write("a", 2);
        Write("b", 2, first: 2);
        File.WriteAllText(Dir.File("notes.md"), "not data");

        var tasks = await Open(Path.Combine(Dir.Path, $"*.{Extension}")).PlanAsync(CancellationToken.None);

        Assert.All(tasks, t => Assert.Contains($".{Extension}", t.Id, StringComparison.Ordinal));
        Assert.Contains(tasks, t => t.Id.Contains($"a.{Extension}", StringComparison.Ordinal));
        Assert.Contains(tasks, t => t.Id.Contains($"b.{Extension}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_BlockRows_NoBlockExceedsLimit()
    {
        var path = Write("data", 10);
        var batches = new List<Apache.Arrow.RecordBatch>();
        foreach (var task in await Open(path).PlanAsync(CancellationToken.None))
            batches.AddRange(await ReadBatchesAsync(task, blockRows: 3));

        Assert.All(batches, b => Assert.InRange(b.Length, 1, 3));
        Assert.Equal(10, batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task ReadAsync_SameTaskTwice_SameBlocks()
    {
        var path = Write("data", 10);
        var task = (await Open(path).PlanAsync(CancellationToken.None))[0];

        var first = await ReadBatchesAsync(task, blockRows: 3);
        var second = await ReadBatchesAsync(task, blockRows: 3);

        Assert.Equal(first.Select(b => b.Length), second.Select(b => b.Length));
        Assert.Equal(first.SelectMany(Sluice.Rows.FromBatch), second.SelectMany(Sluice.Rows.FromBatch));
    }

    [Fact]
    public async Task ReadAsync_CancelledToken_ThrowsOperationCanceled()
    {
        var path = Write("data", 10);
        var task = (await Open(path).PlanAsync(CancellationToken.None))[0];
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadBatchesAsync(task, 2, cts.Token));
    }

    [Fact]
    public async Task ReadAsync_CancelledAfterFirstBlock_StopsWithOperationCanceled()
    {
        var path = Write("data", 10);
        var task = (await Open(path).PlanAsync(CancellationToken.None))[0];
        using var cts = new CancellationTokenSource();
        var seen = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in task.ReadAsync(1, cts.Token))
            {
                seen++;
                await cts.CancelAsync();
            }
        });
        Assert.Equal(1, seen);
    }

    [Fact]
    public async Task InferSchemaAsync_File_NamesTheColumns()
    {
        var path = Write("data", 5);

        var schema = await Open(path).InferSchemaAsync(CancellationToken.None);

        Assert.NotNull(schema);
        Assert.Equal(Expected(Rows(1)[0]).Keys, schema.FieldsList.Select(f => f.Name));
    }

    [Fact]
    public async Task PlanAsync_MissingFile_BadInputNamesThePath()
    {
        var path = Dir.File($"absent.{Extension}");

        var e = await Assert.ThrowsAsync<BadInputException>(() => Open(path).PlanAsync(CancellationToken.None).AsTask());

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlanAsync_GlobMatchesNothing_BadInputNamesTheGlob()
    {
        var glob = Path.Combine(Dir.Path, $"*.{Extension}");

        var e = await Assert.ThrowsAsync<BadInputException>(() => Open(glob).PlanAsync(CancellationToken.None).AsTask());

        Assert.Contains($"no files match '{glob}'", e.Message, StringComparison.Ordinal);
    }
}
