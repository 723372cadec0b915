using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.IO.Tests;

/// <summary>The rows every datasource fixture holds, and helpers to read a source whole.</summary>
public static class Samples
{
    public sealed record SampleRow(long Id, string Name, double Score);

    /// <summary>Rows whose names need CSV quoting now and then, and whose scores are never whole (so JSON keeps them float64).</summary>
    public static IReadOnlyList<SampleRow> Rows(int count, int first = 0) =>
        Enumerable.Range(first, count)
            .Select(i => new SampleRow(i, i % 4 == 3 ? $"x, \"y\" {i}" : $"name-{i}", i * 0.5 + 0.25))
            .ToList();

    public static Dictionary<string, object?> AsDictionary(SampleRow r) =>
        new() { ["id"] = r.Id, ["name"] = r.Name, ["score"] = r.Score };

    public static RecordBatch Batch(IReadOnlyList<SampleRow> rows) =>
        Sluice.Rows.ToBatch(rows.Select(r => (IReadOnlyDictionary<string, object?>)AsDictionary(r)).ToList());

    public static async Task<List<RecordBatch>> ReadBatchesAsync(ReadTask task, int blockRows, CancellationToken ct = default)
    {
        var batches = new List<RecordBatch>();
        await foreach (var b in task.ReadAsync(blockRows, ct)) batches.Add(b);
        return batches;
    }

    public static async Task<List<Dictionary<string, object?>>> ReadAllRowsAsync(Datasource source, int blockRows = 1024)
    {
        var rows = new List<Dictionary<string, object?>>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
            foreach (var b in await ReadBatchesAsync(task, blockRows))
                rows.AddRange(Sluice.Rows.FromBatch(b));
        return rows;
    }
}
