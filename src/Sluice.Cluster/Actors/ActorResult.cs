namespace Sluice.Cluster.Actors;

/// <summary>How a task on an actor ended.</summary>
internal enum ActorOutcome
{
    Ok,

    /// <summary>The processor refused rows (<see cref="BadInputException"/>): not retried.</summary>
    BadInput,

    /// <summary>The processor (or its stage) failed.</summary>
    Failed,

    /// <summary>The input block's owner is gone: recompute it.</summary>
    InputLost,

    /// <summary>The actor's processor is not there (the grain was re-activated without its model): replace the actor.</summary>
    ActorLost,
}

/// <summary>
/// A task's result as a value: the processor's failures travel as a kind and a message, so the
/// driver rethrows the exact exception type (Orleans would otherwise have to serialize arbitrary exceptions).
/// </summary>
/// <param name="Outputs">For a task on several coalesced blocks (<see cref="IActorGrain.RunManyAsync"/>): one output per input, in order.</param>
/// <param name="Lost">For <see cref="ActorOutcome.InputLost"/>: the input that could not be fetched.</param>
[GenerateSerializer, Immutable]
internal sealed record ActorResult([property: Id(0)] ActorOutcome Outcome, [property: Id(1)] Blocks.BlockRefDto? Output, [property: Id(2)] string? Message,
    [property: Id(3)] Blocks.BlockRefDto[]? Outputs = null, [property: Id(4)] Blocks.BlockRefDto? Lost = null);
