using Sluice.Blocks;
using Sluice.Cluster.Actors;
using Sluice.Cluster.Blocks;
using Sluice.Cluster.Placement;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Cluster;

/// <summary>The driver's handle on an actor grain: a failed call means the actor's node is gone; a failed task comes back as a value.</summary>
internal sealed class OrleansActorHandle(ActorSpec spec, IActorGrain grain, string node) : IActorHandle
{
    public ActorSpec Spec => spec;

    public async Task<BlockRef> RunAsync(BlockRef input, CancellationToken cancellationToken) =>
        (await CallAsync(() => grain.RunAsync(BlockRefDto.Of(input), cancellationToken), [input], cancellationToken).ConfigureAwait(false)).Output!.ToRef();

    public async Task<IReadOnlyList<BlockRef>> RunManyAsync(IReadOnlyList<BlockRef> inputs, CancellationToken cancellationToken)
    {
        if (inputs.Count == 1) return [await RunAsync(inputs[0], cancellationToken).ConfigureAwait(false)];
        var result = await CallAsync(() => grain.RunManyAsync([.. inputs.Select(BlockRefDto.Of)], cancellationToken), inputs, cancellationToken).ConfigureAwait(false);
        if (result.Outputs is not { } outputs || outputs.Length != inputs.Count)
            throw new SluiceException($"stage '{spec.Operator}' actor {spec.Index} on node '{node}' returned {result.Outputs?.Length ?? 0} outputs for {inputs.Count} inputs");
        return [.. outputs.Select(o => o.ToRef())];
    }

    /// <summary>Calls the grain; a failed call is a lost actor, a failed task comes back as its exception.</summary>
    private async Task<ActorResult> CallAsync(Func<Task<ActorResult>> call, IReadOnlyList<BlockRef> inputs, CancellationToken cancellationToken)
    {
        ActorResult result;
        try
        {
            // The token travels with the call (Orleans cancels the grain method on the node); WaitAsync only
            // makes sure the caller is not held if the cancellation message cannot reach a dying node.
            result = await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (NodeDrainingException e)
        {
            throw Draining(spec, node, e);
        }
        catch (Exception e)
        {
            throw Lost(spec, node, e);
        }
        return result.Outcome switch
        {
            ActorOutcome.Ok => result,
            ActorOutcome.BadInput => throw new BadInputException(result.Message!),
            ActorOutcome.InputLost => throw new BlockLostException(result.Lost is { } lost ? inputs.FirstOrDefault(i => i.Id == lost.Id && i.Offset == lost.Offset) ?? inputs[0] : inputs[0]),
            ActorOutcome.ActorLost => throw new ActorLostException($"stage '{spec.Operator}' actor {spec.Index} on node '{node}': {result.Message}"),
            _ => throw new SluiceException(result.Message!),
        };
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await grain.ReleaseAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its node is gone, and the processor with it.
        }
    }

    /// <summary>The actor's node is leaving gracefully: to the executor the actor is lost (dropped, its task run elsewhere); the node hands its blocks to the driver before it leaves.</summary>
    public static ActorLostException Draining(ActorSpec spec, string node, NodeDrainingException e) =>
        new($"stage '{spec.Operator}' actor {spec.Index}: node '{node}' is draining (leaving the cluster gracefully; its blocks go to the driver): {e.Message}", e);

    public static ActorLostException Lost(ActorSpec spec, string node, Exception e) =>
        new($"stage '{spec.Operator}' actor {spec.Index}: node '{node}' is gone ({e.GetType().Name}: {e.Message})", e);
}
