using Orleans.Concurrency;
using Sluice.Cluster.Blocks;

namespace Sluice.Cluster.Actors;

/// <summary>One actor of one stage, on one node. Key: <c>{node}|{run}|{stage}|{index}</c>; placed on that node.</summary>
internal interface IActorGrain : IGrainWithStringKey
{
    /// <summary>Builds the processor from its descriptor and initializes it (loads the model).</summary>
    /// <returns>Null, or why the processor could not start (its message, rethrown on the driver as a <see cref="SluiceException"/>).</returns>
    /// <remarks>Cancelling <paramref name="cancellationToken"/> (the job ended) stops the load and releases what it held.</remarks>
    Task<string?> InitializeAsync(ActorInit init, CancellationToken cancellationToken);

    /// <summary>Runs one task; an actor takes up to max_concurrency of these at once.</summary>
    /// <remarks>Orleans carries cancellation of <paramref name="cancellationToken"/> to the node: a cancelled job stops its model runs there.</remarks>
    [AlwaysInterleave]
    Task<ActorResult> RunAsync(BlockRefDto input, CancellationToken cancellationToken);

    /// <summary>Runs one task on several small blocks coalesced into full batches; the outputs come back in <see cref="ActorResult.Outputs"/>.</summary>
    [AlwaysInterleave]
    Task<ActorResult> RunManyAsync(BlockRefDto[] inputs, CancellationToken cancellationToken);

    /// <summary>Releases the processor and lets the grain go.</summary>
    Task ReleaseAsync();
}
