using Apache.Arrow;

namespace Sluice.Contracts;

/// <summary>
/// A stateful batch transform that lives in an actor: created once per actor, initialized once
/// (load the model here), then called for many batches. Calls may overlap up to the operator's
/// max concurrency; an implementation serializes what must not overlap.
/// </summary>
public interface IBatchProcessor : IAsyncDisposable
{
    ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken);

    ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken);
}

/// <summary>What an actor knows about where it runs.</summary>
public sealed record ProcessorContext(string Operator, int ActorIndex, ResourceRequest Resources, IReadOnlyList<int> GpuIds);
