using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Execution.Tests;

/// <summary>
/// Passes blocks through once its start (the model load) is let go by the test: a stepped test holds an actor's start
/// until the loop is where it wants it (the reader ended, a block waiting), without sleeping.
/// </summary>
internal sealed class HeldStart(Task started) : IBatchProcessor
{
    public async ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => await started.WaitAsync(cancellationToken);

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
