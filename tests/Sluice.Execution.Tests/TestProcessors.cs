using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;

namespace Sluice.Execution.Tests;

/// <summary>Adds a checksum column derived from the ids (<c>triple = 3 x id + 1</c>), so outputs can be verified. Holds no state.</summary>
internal sealed class TripleProcessor : IBatchProcessor
{
    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var ids = (Int64Array)batch.Column("id");
        var b = new Int64Array.Builder();
        for (var i = 0; i < ids.Length; i++) b.Append(ids.GetValue(i)!.Value * 3 + 1);
        return ValueTask.FromResult(ArrowBatches.WithColumn(batch, new Field("triple", Int64Type.Default, false), b.Build()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// One test's count of processor lifecycles: each test makes its own and hands it to its processors
/// through the factory lambda, so tests running in parallel never share a counter.
/// </summary>
internal sealed class ProcessorLedger
{
    private int _created;
    private int _initialized;
    private int _disposed;

    public int Created => Volatile.Read(ref _created);

    public int Initialized => Volatile.Read(ref _initialized);

    public int Disposed => Volatile.Read(ref _disposed);

    public void OnCreated() => Interlocked.Increment(ref _created);

    public void OnInitialized() => Interlocked.Increment(ref _initialized);

    public void OnDisposed() => Interlocked.Increment(ref _disposed);
}
