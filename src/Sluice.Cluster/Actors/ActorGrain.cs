using Sluice.Cluster.Blocks;
using Sluice.Cluster.Files;
using Sluice.Cluster.Hosting;
using Sluice.Cluster.Placement;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Cluster.Actors;

/// <summary>
/// An actor on its node: holds one processor (a loaded model) for the life of the actor, fetches
/// input blocks it does not hold, keeps its output in its node's store and returns the ref.
/// Inference runs on the thread pool, never on the grain's turn: a model run blocks its thread for
/// the whole batch, and the silo's own work (membership probes among it) must not wait behind it.
/// The files its options name (a model, a vocabulary) come from the driver into the node's cache before the processor is built.
/// </summary>
[NodePlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class ActorGrain(ClusterNode node, IGrainFactory grains) : Grain, IActorGrain, IDisposable
{
    private readonly BlockFetcher _fetcher = new(node, grains);
    private IBatchProcessor? _processor;
    private ActorInit? _init;

    /// <summary>Cancelled when the actor is released: a task of a dead driver stops instead of holding the device for nobody.</summary>
    private readonly CancellationTokenSource _released = new();

    public async Task<string?> InitializeAsync(ActorInit init, CancellationToken cancellationToken)
    {
        if (_processor is not null) return null;
        if (init.Driver is { } driver && driver != node.Id) node.Jobs.Seen(init.Job, driver);
        if (node.Jobs.IsGone(init.Job))
        {
            DeactivateOnIdle();
            return $"node '{node.Id}': the driver of job {init.Job} is gone; no actor of it starts";
        }
        if (node.Draining)
        {
            DeactivateOnIdle();
            throw new NodeDrainingException($"node '{node.Id}' is draining (leaving the cluster): it starts no new actor");
        }
        IBatchProcessor? processor = null;
        try
        {
            // An unregistered type is refused by Create before anything is fetched for it.
            var descriptor = node.Processors.Contains(init.ProcessorType) ? await ShippedFiles.LocalizeAsync(init, node, grains, cancellationToken) : init.Descriptor;
            processor = node.Processors.Create(descriptor);
            var context = init.Context(node.Simulated);
            await Task.Run(async () => await processor.InitializeAsync(context, cancellationToken), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The job ended while the model loaded: release it here, the driver will not hold this actor.
            if (processor is not null) await processor.DisposeAsync();
            DeactivateOnIdle();
            throw;
        }
        catch (Exception e)
        {
            if (processor is not null) await processor.DisposeAsync();
            DeactivateOnIdle();
            return ShippedFiles.Explain(init, node, e.Message);
        }
        _processor = processor;
        _init = init;
        node.Jobs.ActorStarted(init.Job, this.GetPrimaryKeyString());
        // Its driver died while the model loaded: the release pass may have run already.
        if (node.Jobs.IsGone(init.Job)) await ReleaseAsync();
        return null;
    }

    public Task<ActorResult> RunAsync(BlockRefDto input, CancellationToken cancellationToken) => RunManyAsync([input], cancellationToken);

    public Task<ActorResult> RunManyAsync(BlockRefDto[] inputs, CancellationToken cancellationToken)
    {
        if (_processor is not { } processor || _init is not { } init)
            return Task.FromResult(new ActorResult(ActorOutcome.ActorLost, null, "the actor holds no processor (it was re-activated or released)"));
        // A draining node finishes what it has but takes nothing new: the driver runs this task on another actor.
        if (!node.TryBeginTask()) throw new NodeDrainingException($"node '{node.Id}' is draining (leaving the cluster): it takes no new task");
        return Task.Run(async () =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _released.Token);
            try
            {
                return await RunTaskAsync(processor, init, inputs, linked.Token);
            }
            finally
            {
                node.EndTask();
            }
        }, cancellationToken);
    }

    private async Task<ActorResult> RunTaskAsync(IBatchProcessor processor, ActorInit init, BlockRefDto[] inputs, CancellationToken cancellationToken)
    {
        var blocks = new Sluice.Blocks.Block[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            try
            {
                blocks[i] = await _fetcher.GetAsync(inputs[i].ToRef(), init.Job, cancellationToken, init.Driver);
            }
            catch (BlockLostException e)
            {
                return new ActorResult(ActorOutcome.InputLost, null, e.Message, Lost: inputs[i]);
            }
        }
        try
        {
            // The driver's cancellation reaches the model run: a cancelled job does not keep this node's device busy.
            if (blocks.Length == 1)
            {
                var output = await BatchRunner.ApplyAsync(init.Operator, processor.ProcessAsync, blocks[0], init.BatchSize, init.OnError, cancellationToken);
                return new ActorResult(ActorOutcome.Ok, BlockRefDto.Of(node.Keep(output, init.Job)), null);
            }
            var outputs = await BatchRunner.ApplyManyAsync(init.Operator, processor.ProcessAsync, blocks, init.BatchSize, init.OnError, cancellationToken);
            return new ActorResult(ActorOutcome.Ok, null, null, [.. outputs.Select(o => BlockRefDto.Of(node.Keep(o, init.Job)))]);
        }
        catch (BadInputException e)
        {
            return new ActorResult(ActorOutcome.BadInput, null, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            return new ActorResult(ActorOutcome.Failed, null, e.Message);
        }
    }

    public async Task ReleaseAsync()
    {
        await DisposeProcessorAsync();
        DeactivateOnIdle();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => DisposeProcessorAsync();

    /// <summary>Orleans disposes the grain instance when its activation ends.</summary>
    public void Dispose() => _released.Dispose();

    private async Task DisposeProcessorAsync()
    {
        var processor = _processor;
        _processor = null;
        await _released.CancelAsync();
        if (_init is { } init) node.Jobs.ActorEnded(init.Job, this.GetPrimaryKeyString());
        if (processor is not null) await processor.DisposeAsync();
    }
}
