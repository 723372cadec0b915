using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Budget;
using Sluice.Execution.Operators;
using Sluice.Execution.Planning;
using Sluice.Execution.Runtime;
using Sluice.Execution.Stats;
using Sluice.Plan;

namespace Sluice.Execution;

/// <summary>
/// The one control loop of a job. It owns every operator's input queue; each turn it handles what
/// workers reported, dispatches downstream operators first (drain before you fill), lets the
/// autoscalers act, and publishes a snapshot. Only this loop changes executor state, so nothing here
/// takes a lock; workers talk to it through events.
/// </summary>
internal sealed partial class StreamingExecutor
{
    private readonly LogicalOperator _logical;
    private readonly Datasink? _sink;
    private readonly ExecutionOptions _options;
    private readonly IWorkerRuntime _runtime;
    private readonly ILogger _logger;
    private readonly Dictionary<int, int?> _blocksPerTask = [];
    private readonly List<int> _taskOrder = [];
    private readonly Dictionary<int, int> _committed = [];
    private readonly Dictionary<int, string> _taskIds = [];
    private readonly HashSet<int> _marked = [];
    private readonly HashSet<int> _doneSeen = [];
    private ExecutionSnapshot _snapshot = ExecutionSnapshot.Empty;
    private List<OperatorState> _ops = [];
    private List<ActorPoolOperator> _pools = [];
    private ExecutorContext? _ctx;
    private SinkState _sinkState = SinkState.Empty;
    private int _pendingMarks;
    private long _startTicks;

    public StreamingExecutor(LogicalOperator logical, Datasink? sink, ExecutionOptions options, bool collectOutput)
    {
        _logical = logical;
        _sink = sink;
        _options = options;
        _runtime = options.Runtime ?? new LocalWorkerRuntime(options.Resources);
        _logger = options.LoggerFactory?.CreateLogger("Sluice.Executor") ?? NullLogger.Instance;
        if (collectOutput) Output = new OutputCollector(options.PreserveOrder, _blocksPerTask, _taskOrder);
    }

    public ExecutionSnapshot Snapshot => Volatile.Read(ref _snapshot);

    public OutputCollector? Output { get; }

    public NodeResources Resources => _options.Resources ?? _runtime.Resources;

    public long BudgetBytes => _options.MemoryBudgetBytes ?? ExecutionOptions.DefaultMemoryBudget(Resources.MemoryBytes);

    public PhysicalPlan Plan() => Planner.Plan(_logical, _sink, Resources);

    /// <summary>The bytes of a block out of <see cref="Output"/>, fetched by the consumer (on a cluster, maybe from another node).</summary>
    public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => _runtime.GetAsync(block, cancellationToken);

    /// <summary>The consumer took a block out of <see cref="Output"/>: its bytes leave the budget.</summary>
    public void Release(BlockRef block) => _ctx?.Post(new ExecutorEvent.OutputTaken(block));

    /// <summary>Validates the options and plans the job; nothing is opened or started yet.</summary>
    internal PhysicalPlan Begin()
    {
        var errors = _options.Validate().ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join(Environment.NewLine, errors));
        var plan = Plan();
        var explained = plan.Explain(Resources, BudgetBytes);
        Log.Plan(_logger, explained);
        return plan;
    }

    /// <summary>
    /// Runs the job: <see cref="Begin"/>, <see cref="PrepareAsync"/>, turns of <see cref="StepAsync"/> until done,
    /// <see cref="ShutdownAsync"/>. Tests call the same steps one by one to step the loop.
    /// </summary>
    public async Task<ExecutionSnapshot> RunAsync(CancellationToken cancellationToken)
    {
        var plan = Begin();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? failure = null;
        try
        {
            await PrepareAsync(plan, stop.Token).ConfigureAwait(false);
            await LoopAsync(stop.Token).ConfigureAwait(false);
            CheckErroredFractions();
            if (_sink is not null) await _sink.CompleteAsync(stop.Token).ConfigureAwait(false);
            Publish();
            Output?.Complete();
            // The final numbers carry what the source noticed on the way (the caller reports it).
            return Snapshot with { Warnings = ((SourceSpec)plan.Operators[0]).Source.Warnings };
        }
        catch (Exception e)
        {
            failure = e;
            await stop.CancelAsync().ConfigureAwait(false);
            if (_ctx is not null)
            {
                await _ctx.DrainAsync().ConfigureAwait(false);
                Publish();
            }
            if (_sink is not null)
            {
                try
                {
                    await _sink.AbortAsync().ConfigureAwait(false);
                }
                catch (Exception abort)
                {
                    // The job's own error is what the caller must see; a failed abort is logged beside it.
                    Log.AbortFailed(_logger, abort.Message);
                }
            }
            Output?.Complete(e);
            throw;
        }
        finally
        {
            await ShutdownAsync(stop, failure).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every exit path ends here: cancel what is still running (tasks, actor starts, marks), wait for all of it
    /// to come back, then dispose every actor, an actor that finished starting after the job ended included.
    /// A disposal failure neither skips the other actors nor hides the job's own error: with a job error, the
    /// disposal failures are logged and the job's error is what the caller sees; without one, they are thrown.
    /// </summary>
    internal async Task ShutdownAsync(CancellationTokenSource stop, Exception? failure)
    {
        if (_tick is not null) await _tick.DisposeAsync().ConfigureAwait(false);
        if (_wake is not null) await _wake.DisposeAsync().ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        if (_ctx is not null) await _ctx.DrainAsync().ConfigureAwait(false);
        var errors = new List<Exception>();
        foreach (var op in _ops)
        {
            try
            {
                await op.ShutdownAsync().ConfigureAwait(false);
            }
            catch (AggregateException e)
            {
                errors.AddRange(e.InnerExceptions);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }
        if (_options.Runtime is null)
        {
            try
            {
                await _runtime.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }
        if (errors.Count == 0) return;
        foreach (var e in errors) Log.ReleaseFailed(_logger, e.Message);
        if (failure is null)
            throw new SluiceException($"the job finished, but {errors.Count} actor(s) failed to release: {errors[0].Message}", new AggregateException(errors));
    }

    /// <summary>Opens the sink, builds the operators and the budgets, starts the pools' initial actors and the loop's tick.</summary>
    internal async Task PrepareAsync(PhysicalPlan plan, CancellationToken ct)
    {
        var source = (SourceSpec)plan.Operators[0];
        // Check the stages, then plan the reads: a job that cannot run must fail before the output is touched.
        PrepareDeadLetters();
        await PreflightAsync(plan).ConfigureAwait(false);
        var readTasks = await source.Source.PlanAsync(ct).ConfigureAwait(false);
        if (_sink is not null)
        {
            // What decides the rows goes with the open: a resume with other inputs or another spec is refused there.
            var inputs = source.Source.DescribeInputs();
            _sinkState = await _sink.OpenAsync(_options.WriteMode, OutputFingerprints.Of(_logical, inputs, readTasks.Select(t => t.Id), source.Block.Rows, _sink), inputs, ct).ConfigureAwait(false);
        }
        IndexResumedSlices();
        var toRun = new List<(int, ReadTask)>();
        for (var i = 0; i < readTasks.Count; i++)
        {
            _taskIds[i] = readTasks[i].Id;
            if (_sinkState.CompletedTasks.Contains(readTasks[i].Id)) continue;
            _taskOrder.Add(i);
            _blocksPerTask[i] = null;
            toRun.Add((i, readTasks[i]));
        }
        if (_sink is not null && _options.WriteMode == WriteMode.Resume)
            Log.Resume(_logger, readTasks.Count - toRun.Count, _sinkState.CommittedBlocks.Count);

        _ops = [];
        for (var i = 0; i < plan.Operators.Count; i++)
        {
            _ops.Add(plan.Operators[i] switch
            {
                SourceSpec s => new SourceOperator(i, s, toRun),
                TaskMapSpec t => new TaskMapOperator(i, t),
                ActorMapSpec a => new ActorPoolOperator(i, a, _options.Dispatch) { Suspicion = _suspicion },
                SinkSpec k => new SinkOperator(i, k),
                _ => throw new NotSupportedException(plan.Operators[i].GetType().Name),
            });
            if (i == 0) continue;
            _ops[i - 1].Downstream = _ops[i];
            _ops[i].Upstream = _ops[i - 1];
        }
        _pools = _ops.OfType<ActorPoolOperator>().ToList();
        var nodes = _options.Resources is { } own ? [new NodeInfo(_runtime.NodeId, own)] : _runtime.Nodes;
        // The driver's node holds what reads and writes make, within the job's budget; every other
        // node holds its actors' outputs within a budget of its own, from the memory it declares.
        var budget = new MemoryBudget(BudgetBytes, _ops.Select(o => o.ProducesOutput).ToList(), NodeLimits(BudgetBytes));
        _ctx = new ExecutorContext(_runtime, budget, new ResourceManager(nodes, _options.TimeProvider), _options, _logger, ct)
        {
            // Simulated devices live in this process: in local mode, the only node's GPUs.
            Simulated = Resources.GpusSimulated ? new SimulatedDevices(Resources.GpuCount, _options.TimeProvider) : null,
            NextInOrder = Output is { } output ? () => output.Next : static () => null,
        };
        _startTicks = _ctx.NowTicks;
        _lastProgressTicks = _startTicks;
        StartTicking(_ctx);
        foreach (var op in _ops.OfType<ActorPoolOperator>()) op.StartInitial(_options, _ctx);
    }

    /// <summary>
    /// Each node's budget for the blocks it holds: the driver's is the job's, every other node's follows the memory it
    /// declares. Asked on every dispatch to an actor: a node's limit is looked up in the runtime's nodes once, then kept.
    /// </summary>
    private Func<string, long> NodeLimits(long driverBudget)
    {
        var known = new Dictionary<string, long>(StringComparer.Ordinal);
        return node =>
        {
            if (node == _runtime.NodeId) return driverBudget;
            if (known.TryGetValue(node, out var limit)) return limit;
            var info = _runtime.Nodes.FirstOrDefault(n => n.Id == node);
            limit = ExecutionOptions.DefaultMemoryBudget(info?.Resources.MemoryBytes ?? 0);
            // A node not (or no longer) in the runtime's list is asked again next time: it may join with its memory.
            if (info is not null) known[node] = limit;
            return limit;
        };
    }

    /// <summary>Asks one processor of each actor stage whether it can run as configured; refuses the job with every reason.</summary>
    private async Task PreflightAsync(PhysicalPlan plan)
    {
        var problems = new List<string>();
        // Actors may go to any node: check against the nodes (the node alone in local mode).
        // Nodes an autoscaler may add count too: a stage that fits only a worker yet to come is not refused.
        var nodes = _options.Resources is { } own ? [own] : _runtime.Nodes.Select(n => n.Resources).Concat(_options.MayAdd).ToList();
        var simulated = nodes.Any(n => n.GpusSimulated);
        var mostGpus = nodes.Max(n => n.Gpus);
        var gpuNodes = nodes.Where(n => n.Gpus > 0).ToList();
        // Device memory is checked only where every GPU node states it (0 means unknown: no limit to hold stages to).
        long? largestDevice = gpuNodes.Count > 0 && gpuNodes.All(n => n.GpuMemoryBytes > 0) ? gpuNodes.Max(n => n.GpuMemoryBytes) : null;
        foreach (var spec in plan.Operators.OfType<ActorMapSpec>())
        {
            var probe = spec.Create();
            try
            {
                if (probe is IPreflightCheck check) problems.AddRange(check.Preflight(spec.Name, spec.Resources, simulated));
                if (largestDevice is { } device && DeviceMemoryNeeds.Refusal(spec, probe as IDeviceMemoryNeed, device, simulated) is { } refusal) problems.Add(refusal);
            }
            finally
            {
                await probe.DisposeAsync().ConfigureAwait(false);
            }
            if (spec.Descriptor is null && !_runtime.RunsLambdaProcessors)
                problems.Add($"stage '{spec.Name}': its processor is made by a lambda, which cannot run on a cluster (worker nodes build processors by type name); give a processor type: MapBatches<T>() or MapBatches<T, TOptions>(options)");
            if (spec.Resources.Gpus > mostGpus)
                problems.Add($"stage '{spec.Name}': each actor asks for {spec.Resources.Gpus:0.##} gpus but no node has more than {mostGpus:0.##}; lower resources.gpus or add GPUs (--sim-gpus N to simulate them)");
        }
        if (problems.Count > 0) throw new SluiceException("the job cannot start:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
    }

    /// <summary>
    /// Books each operator's end (its elapsed time) and wakes the loop for the one below it. An operator that has work
    /// again (a lost block read anew after the reader ended) is not done any more: its end is booked again later.
    /// </summary>
    private void PropagateDone()
    {
        var ctx = _ctx!;
        foreach (var op in _ops)
        {
            if (!op.IsDone)
            {
                if (_doneSeen.Remove(op.Index)) op.MarkNotDone();
                continue;
            }
            op.MarkDone(ctx.NowTicks);
            // A turn for the next operator to act on its input's end (the sink's flush) without waiting for a tick.
            if (_doneSeen.Add(op.Index) && op.Downstream is not null) ctx.Post(new ExecutorEvent.Tick());
        }
    }

    private bool AllDone() => _ops.All(o => o.IsDone) && _pendingMarks == 0 && (Output is null || Output.Held == 0);

    private void Publish()
    {
        var ctx = _ctx;
        if (ctx is null) return;
        // At most once per cadence while the job runs (and on every stepped turn): a snapshot is new small records
        // per operator, and its parts that grow with the cluster (devices, actors per node) are copied only when
        // they changed, so publishing costs O(operators) whatever the number of actors and nodes.
        var ops = _ops.Select(o => o.Snapshot(ctx)).ToList();
        Volatile.Write(ref _snapshot, new ExecutionSnapshot(ops, ctx.Budget.UsedBytes, ctx.Budget.PeakUsedBytes, ctx.Budget.Total,
            ctx.Since(_startTicks), ctx.Resources.Describe())
        {
            // Copies the resource manager makes only when a grant changed: immutable, shared by snapshots until then.
            DeviceAllocation = ctx.Resources.DeviceUse,
            PeakDeviceAllocation = ctx.Resources.PeakDeviceUse,
            PeakCpusAllocated = ctx.Resources.PeakCpusUsed,
            DeviceUtilization = ctx.Simulated?.Utilization() ?? [],
            DeviceBusy = ctx.Simulated?.BusyTimes() ?? [],
            DeviceAsked = ctx.Simulated?.AskedTimes() ?? [],
            DeviceAskedUtilization = ctx.Simulated?.AskedUtilization() ?? [],
            Unmet = [.. _pools.Where(p => p.Unmet > 0).Select(p => new ActorDemand(p.Name, p.Pool.Resources, p.Unmet))],
            ActorsPerNode = ActorsPerNode(),
            LoopBusy = Stopwatch.GetElapsedTime(0, _loopBusyTicks),
            LoopTurns = _turns,
            Stall = _stall,
            Suspected = SuspectedNow(),
        });
    }

    // The last published actors-per-node map and the pools' placement versions it was made from.
    private IReadOnlyDictionary<string, int> _actorsPerNode = new Dictionary<string, int>();
    private long[] _placementSeen = [];

    /// <summary>The pools' actors per node, added up: made again only when a pool added or removed an actor since the last snapshot.</summary>
    private IReadOnlyDictionary<string, int> ActorsPerNode()
    {
        if (_placementSeen.Length != _pools.Count) _placementSeen = Enumerable.Repeat(-1L, _pools.Count).ToArray();
        var changed = false;
        for (var i = 0; i < _pools.Count; i++)
        {
            if (_pools[i].Pool.PlacementVersion == _placementSeen[i]) continue;
            _placementSeen[i] = _pools[i].Pool.PlacementVersion;
            changed = true;
        }
        if (!changed) return _actorsPerNode;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in _pools)
        {
            foreach (var (node, n) in p.Pool.ActorsPerNode) counts[node] = counts.GetValueOrDefault(node) + n;
        }
        _actorsPerNode = counts;
        return counts;
    }
}
