using Apache.Arrow;

namespace Sluice.Contracts;

/// <summary>
/// A stateful batch transform that lives in an actor: created once per actor, initialized once
/// (load the model here), then called for many batches. Calls may overlap up to the operator's
/// max concurrency; an implementation serializes what must not overlap.
/// </summary>
/// <remarks>
/// A batch is lent for the call: once its block is consumed, Sluice releases the block's native Arrow memory. The
/// returned batch may reuse the input's columns (Sluice counts what blocks share), but a processor must not keep a
/// batch, or an array of one, beyond the call, nor put the same native array into a later output; copy what it keeps.
/// </remarks>
public interface IBatchProcessor : IAsyncDisposable
{
    ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken);

    ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken);
}

/// <summary>What an actor knows about where it runs.</summary>
/// <param name="Operator">The stage's name.</param>
/// <param name="ActorIndex">The actor's index within its pool.</param>
/// <param name="Resources">What the actor holds.</param>
/// <param name="GpuIds">The devices assigned to the actor (empty without gpus); with a fractional request, one shared device.</param>
/// <param name="Simulated">The node's simulated accelerators when its GPUs are simulated, else null.</param>
public sealed record ProcessorContext(string Operator, int ActorIndex, ResourceRequest Resources, IReadOnlyList<int> GpuIds, SimulatedDevices? Simulated = null);
