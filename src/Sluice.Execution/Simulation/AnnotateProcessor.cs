using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;

namespace Sluice.Execution.Simulation;

/// <summary>
/// Adds a column <c>pid</c>: the id of the process that ran the batch. Shows where actors really
/// ran (on which worker process of a cluster); rows pass through otherwise unchanged.
/// </summary>
public sealed class AnnotateProcessor : IBatchProcessor
{
    private static readonly Field PidField = new("pid", Int32Type.Default, nullable: false);

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var pid = new Int32Array.Builder().Reserve(batch.Length);
        for (var i = 0; i < batch.Length; i++) pid.Append(Environment.ProcessId);
        return ValueTask.FromResult(ArrowBatches.WithColumn(batch, PidField, pid.Build()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
