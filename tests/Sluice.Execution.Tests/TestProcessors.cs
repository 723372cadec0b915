using System.Collections.Concurrent;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;

namespace Sluice.Execution.Tests;

/// <summary>Counts initializations per test key, so a test can see each actor loads once.</summary>
internal sealed class CountingProcessor : IBatchProcessor
{
    public static readonly ConcurrentDictionary<string, int> Inits = new();
    public static readonly ConcurrentDictionary<string, int> Batches = new();

    private string _key = "";

    public static string CurrentKey { get; set; } = "";

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
    {
        _key = CurrentKey;
        Inits.AddOrUpdate(_key, 1, (_, n) => n + 1);
        return ValueTask.CompletedTask;
    }

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        Batches.AddOrUpdate(_key, 1, (_, n) => n + 1);
        // Real work: a checksum column derived from the ids, so outputs can be verified.
        var ids = (Int64Array)batch.Column("id");
        var b = new Int64Array.Builder();
        for (var i = 0; i < ids.Length; i++) b.Append(ids.GetValue(i)!.Value * 3 + 1);
        return ValueTask.FromResult(ArrowBatches.WithColumn(batch, new Field("triple", Int64Type.Default, false), b.Build()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Adds a payload of floats per row, so blocks have a known, sizeable byte count.</summary>
internal static class Payload
{
    public static RecordBatch Add(RecordBatch batch, int floatsPerRow)
    {
        var flat = new float[batch.Length * floatsPerRow];
        var ids = (Int64Array)batch.Column("id");
        for (var i = 0; i < batch.Length; i++) flat[i * floatsPerRow] = ids.GetValue(i)!.Value;
        var (field, array) = TensorColumns.Create("payload", flat, batch.Length, [floatsPerRow]);
        return ArrowBatches.WithColumn(batch, field, array);
    }
}
