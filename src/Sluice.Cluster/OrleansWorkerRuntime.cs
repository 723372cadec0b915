using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Sluice.Blocks;
using Sluice.Cluster.Actors;
using Sluice.Cluster.Blocks;
using Sluice.Cluster.Files;
using Sluice.Cluster.Hosting;
using Sluice.Cluster.Placement;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;

namespace Sluice.Cluster;

/// <summary>
/// The driver's runtime on a cluster. The driver hosts its own silo (calls from a silo to a dead
/// node fail in about a second; an external client's would hang until the response timeout,
/// orleans.md §5). Reads and light tasks run here exactly as embedded; actors are grains on the
/// nodes the executor granted them; blocks stay in the store of the node that made them and only
/// their refs travel, until a consumer on another node fetches the bytes.
/// </summary>
/// <remarks>
/// Faults surface as exceptions the executor acts on: <see cref="ActorLostException"/> from
/// <see cref="StartActorAsync"/> and <see cref="IActorHandle.RunAsync"/> when the actor's node is
/// gone; <see cref="BlockLostException"/> from <see cref="GetAsync"/> and <see cref="RunTaskAsync"/>
/// (or from an actor's run) when a block's owner is gone.
/// </remarks>
public sealed partial class OrleansWorkerRuntime : IWorkerRuntime
{
    private readonly IHost? _host;
    private readonly ClusterNode _node;
    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly ISiloMetadataCache _metadata;
    private readonly IClusterManifestProvider _manifests;
    private readonly BlockFetcher _fetcher;
    /// <summary>This driver's job (run id): its actors' keys, and the job its block reads name.</summary>
    private readonly string _run;

    /// <summary>The cluster's Redis as workers give it to <c>--cluster</c> (for messages).</summary>
    private string _redis = "redis://HOST:PORT";
    private int _actorSeq;

    /// <param name="host">The host this runtime owns (stops and disposes with it); null when it lives in an application's host.</param>
    private OrleansWorkerRuntime(IServiceProvider services, IHost? host)
    {
        _host = host;
        _node = services.GetRequiredService<ClusterNode>();
        _grains = services.GetRequiredService<IGrainFactory>();
        _membership = services.GetRequiredService<IClusterMembershipService>();
        _metadata = services.GetRequiredService<ISiloMetadataCache>();
        _manifests = services.GetRequiredService<IClusterManifestProvider>();
        _fetcher = new BlockFetcher(_node, _grains);
        _run = _node.Job!;
        _nodes = [new NodeInfo(_node.Id, _node.Resources)];
    }

    /// <summary>Starts the driver's silo and joins the cluster.</summary>
    public static async Task<OrleansWorkerRuntime> StartAsync(ClusterNodeOptions options, CancellationToken cancellationToken = default)
    {
        var host = await ClusterHost.StartNewAsync(options, "driver", log: null, cancellationToken).ConfigureAwait(false);
        var runtime = new OrleansWorkerRuntime(host.Services, host) { _redis = options.MaskedRedis };
        runtime.StartWatching();
        return runtime;
    }

    /// <summary>The driver runtime of a node added to an application's host (<see cref="Hosting.SluiceHosting.AddSluiceDriver"/>), once that host has started.</summary>
    internal static OrleansWorkerRuntime Attach(IServiceProvider services, ClusterNodeOptions options)
    {
        if (!services.GetRequiredService<ClusterNode>().Joined)
            throw new SluiceException("the driver's node has not joined the cluster yet: resolve OrleansWorkerRuntime after the host has started (await host.StartAsync())");
        var runtime = new OrleansWorkerRuntime(services, null) { _redis = options.MaskedRedis };
        runtime.StartWatching();
        return runtime;
    }
    /// <summary>This driver's job id (for tests: the job its block reads name).</summary>
    internal string Job => _run;

    /// <summary>Blocks draining workers handed to this driver and not freed yet (for tests).</summary>
    internal int HandedBlocks => _node.Handed.Count;

    /// <summary>This driver's grain factory (for tests that call a node's block store directly).</summary>
    internal IGrainFactory Grains => _grains;

    /// <summary>Actors live on worker nodes, which build processors by type name: lambdas cannot travel.</summary>
    public bool RunsLambdaProcessors => false;


    public string NodeId => _node.Id;

    public NodeResources Resources => _node.Resources;

    public long StoredBytes => _node.Local.StoredBytes;

    /// <summary>Bytes this driver fetched from other nodes.</summary>
    public long BytesFetched => _node.BytesFetched;

    public BlockRef Put(Block block) => _node.Local.Put(block);

    /// <remarks>A block on another node is fetched (chunked Arrow IPC) by the caller, who awaits it; one held here completes synchronously.</remarks>
    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) =>
        block.Node == NodeId ? ValueTask.FromResult(_node.Local.GetStored(block)) : new ValueTask<Block>(_fetcher.GetAsync(block, _run, cancellationToken));

    /// <remarks>A block on another node is freed there in the background; one on a node that is gone is gone already.</remarks>
    public void Free(BlockRef block)
    {
        if (block.Node == NodeId) _node.Local.Free(block);
        else _ = _fetcher.FreeAsync(block, _run);
    }

    public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken) =>
        _node.Local.RunReadAsync(task, taskIndex, blockRows, transform, callbacks, cancellationToken);

    public async Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken)
    {
        if (input.Node == NodeId) return await _node.Local.RunTaskAsync(work, input, cancellationToken).ConfigureAwait(false);
        // Input made on a worker: bring a copy here for the task, then drop the copy (the executor frees the original).
        var copy = _node.Local.Put(await _fetcher.GetAsync(input, _run, cancellationToken).ConfigureAwait(false));
        try
        {
            return await _node.Local.RunTaskAsync(work, copy, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _node.Local.Free(copy);
        }
    }

    public async Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken)
    {
        var descriptor = spec.Descriptor ?? throw new SluiceException(
            $"stage '{spec.Operator}': its processor is made by a lambda, which cannot run on a cluster (worker nodes build processors by type name); " +
            "give a processor type: MapBatches<T>() or MapBatches<T, TOptions>(options)");
        var node = spec.Node ?? NodeId;
        var key = $"{node}|{_run}-{Interlocked.Increment(ref _actorSeq)}|{spec.Operator.Replace('|', '/')}|{spec.Index}";
        // The driver's node travels with the actor: a draining worker hands this job's blocks here, and this node's death releases the actor.
        var actorInit = ActorInit.Of(spec, descriptor, _run) with { Driver = NodeId };
        // Files its options name travel to a worker from here; on the driver's own node the paths are used as they are.
        if (node != NodeId && descriptor.JobFiles.Count > 0)
            actorInit = actorInit with { Files = await _node.Sources.RegisterAsync(spec.Operator, descriptor, cancellationToken).ConfigureAwait(false), FileSource = NodeId };
        var grain = _grains.GetGrain<IActorGrain>(key);
        var init = grain.InitializeAsync(actorInit, cancellationToken);
        string? error;
        try
        {
            error = await init.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The grain saw the cancellation and released what it loaded; if the load completed first, the actor
            // exists over there with its model: release it before reporting the start as cancelled.
            try
            {
                if (await init.ConfigureAwait(false) is null) await grain.ReleaseAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Cancelled there as well, or its node is gone: nothing is held.
            }
            throw;
        }
        catch (NodeDrainingException e)
        {
            throw OrleansActorHandle.Draining(spec, node, e);
        }
        catch (Exception e)
        {
            throw OrleansActorHandle.Lost(spec, node, e);
        }
        if (error is not null) throw new SluiceException(error);
        return new OrleansActorHandle(spec, grain, node);
    }

    /// <summary>Registers <paramref name="descriptor"/>'s job files as served by this driver, as an actor's start does (for tests).</summary>
    internal Task<JobFileEntry[]> RegisterJobFilesAsync(string stage, ProcessorDescriptor descriptor) => _node.Sources.RegisterAsync(stage, descriptor, CancellationToken.None);

    /// <summary>Bytes of job files node <paramref name="nodeId"/> fetched into its cache so far (each file once per node).</summary>
    internal Task<long> FileBytesFetchedAsync(string nodeId) => _grains.GetGrain<IFileSourceGrain>(nodeId).BytesFetchedAsync();

    /// <summary>Bytes fetched between nodes so far, summed over every live node (those of dead nodes are lost with them).</summary>
    public async Task<long> BytesMovedAsync(CancellationToken cancellationToken = default)
    {
        var counts = await Task.WhenAll(Nodes.Select(n => _grains.GetGrain<IBlockStoreGrain>(n.Id).BytesFetchedAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        return counts.Sum();
    }

    public async ValueTask DisposeAsync()
    {
        await StopWatchingAsync().ConfigureAwait(false);
        // An application's host stops its own silo; one this runtime started, it stops.
        if (_host is null) return;
        // A graceful leave: the silo tells the cluster it is going, so nobody waits for probes to time out.
        await LeaveAsync(_host).ConfigureAwait(false);
    }
}
