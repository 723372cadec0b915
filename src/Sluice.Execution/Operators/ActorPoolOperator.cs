using Sluice.Contracts;
using Sluice.Execution.Planning;
using Sluice.Execution.Pools;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>Runs a processor on an elastic actor pool (see <see cref="ActorMapSpec"/>).</summary>
internal sealed partial class ActorPoolOperator : OperatorState
{
    private readonly ActorMapSpec _spec;
    private long _busyTicks;
    private long _rowsDone;

    public ActorPoolOperator(int index, ActorMapSpec spec, DispatchPolicy policy)
        : base(index, spec)
    {
        _spec = spec;
        Pool = new ActorPool(spec.Options, spec.Resources, policy);
        Target = spec.Options.Pool.Max;
    }

    public ActorPool Pool { get; }

    public MapBatchesOptions Options => _spec.Options;

    public override string Kind => "actors";

    public override (int Ready, int Starting, int Idle) Actors => (Pool.ReadyCount, Pool.Starting, Pool.Idle);

    /// <summary>How many actors the balancer wants this pool to have now.</summary>
    public int Target { get; private set; }

    /// <summary>Whether the balancer asked this pool to give back its surplus (another pool of the same resource waits below its target).</summary>
    public bool ShouldYield { get; private set; }

    public string? TargetReason { get; private set; }

    /// <summary>What the balancer needs to know of this pool.</summary>
    public PoolView View(ExecutorContext ctx)
    {
        var r = Pool.Resources;
        var (kind, amount) = r.Gpus > 0 ? ("gpus", r.Gpus) : r.Cpus > 0 ? ("cpus", r.Cpus) : ((string?)null, 0.0);
        return new PoolView(Name, kind, amount, _spec.Options.Pool.Min, _spec.Options.Pool.Max, Pool.Live, CostPerRow(ctx),
            !InputExhausted, QueuedBlocks > 0, ctx.Resources.Fits(r));
    }

    /// <summary>Tasks in flight on its actors, summed afresh, and the most any one actor holds: for the loop's invariant check.</summary>
    internal (int InFlight, int MostOnOne) SumInFlight() =>
        (Pool.Actors.Sum(a => a.InFlight), Pool.Actors.Count == 0 ? 0 : Pool.Actors.Max(a => a.InFlight));

    internal int PoolInFlight => Pool.InFlight;

    /// <summary>Takes the balancer's decision for this pool; <see cref="Scale"/> acts on it.</summary>
    public void Apply(PoolTarget decision)
    {
        Target = decision.Target;
        ShouldYield = decision.ShouldYield;
        TargetReason = decision.Reason;
    }

    public int PeakReady { get; private set; }

    public bool InputExhausted => UpstreamDone && !HasInput;

    protected override Stats.OperatorSnapshot Describe(ExecutorContext ctx, Stats.OperatorSnapshot snapshot) => snapshot with
    {
        Target = Target,
        TargetReason = TargetReason,
        CostMsPerRow = CostPerRow(ctx) * 1000,
        PeakActors = PeakReady,
        Resources = Pool.Resources.ToString(),
        BlocksSliced = Stats.Sliced,
        BlocksCoalesced = Stats.Coalesced,
        BackupsLaunched = Stats.BackupsLaunched,
        BackupsWon = Stats.BackupsWon,
    };

    /// <summary>
    /// Seconds of actor time per row, from finished work only: busy time is booked at each task's end
    /// (up to that moment) together with its rows, so a long task still running cannot inflate the
    /// estimate. Null until a task has finished.
    /// </summary>
    public double? CostPerRow(ExecutorContext ctx) =>
        _rowsDone == 0 ? null : _busyTicks / (double)ctx.Options.TimeProvider.TimestampFrequency / _rowsDone;

    /// <summary>
    /// Actors this pool wants now that fit no node, as of its last <see cref="Scale"/> (or start): what an autoscaler
    /// could add workers for. 0 once its input is exhausted.
    /// </summary>
    public int Unmet { get; private set; }

    /// <summary>
    /// Starts the pool's initial actors; refuses when the nodes cannot hold the pool's minimum, unless the cluster may
    /// grow (<see cref="ExecutionOptions.CapacityMayGrow"/>): then the missing actors are unmet demand and start once a
    /// node joins.
    /// </summary>
    public void StartInitial(ExecutionOptions options, ExecutorContext ctx)
    {
        var initial = _spec.Options.Pool.InitialOrDefault;
        for (var i = 0; i < initial; i++)
        {
            if (StartActor(ctx)) continue;
            if (options.CapacityMayGrow)
            {
                Unmet = Math.Max(initial, Floor) - i;
                break;
            }
            if (i < _spec.Options.Pool.Min)
            {
                throw new SluiceException(
                    $"stage '{Name}': pool.min {_spec.Options.Pool.Min} actors x {Pool.Resources} do not fit the node ({ctx.Resources.Node}, in use {ctx.Resources.Describe()}); lower pool.min or the stage's resources");
            }
            break;
        }
        Stats.LastScaling = ScalingDecision.Up(Pool.Live, "initial").ToString();
    }

    /// <summary>The most small blocks one task coalesces (bounds a task's fan-in and its retry).</summary>
    private const int MaxCoalesced = 64;

    /// <summary>
    /// Rows a slice is aligned to: the stage's batch size, so every actor runs whole batches. A stage without one
    /// takes each block as one batch, so its blocks are never cut (<see cref="SliceFirst"/>).
    /// </summary>
    public int SliceAlign => Math.Max(1, _spec.Options.BatchSize ?? 1);

    public override void Dispatch(ExecutorContext ctx)
    {
        while (HasInput)
        {
            var nextInOrder = NextInOrderFirst(ctx);
            var actor = Pool.Pick(NextInputNode);
            if (actor is null)
            {
                Stats.BackPressure = Pool.Live == 0 ? "no actor" : "every actor slot is busy";
                return;
            }
            SliceFirst(ctx);
            var coalesce = CoalesceRows(ctx);
            var bytes = coalesce is { } rows ? PeekBundleBytes(rows, MaxCoalesced) : NextInputBytes;
            var decision = ctx.Budget.TryReserve(Index, bytes, actor.Grant.Node, nextInOrder);
            if (!decision.Allowed)
            {
                Stats.BackPressure = decision.Reason;
                return;
            }
            Stats.BackPressure = null;
            MarkStarted(ctx);
            var bundle = coalesce is { } most ? DequeueBundle(most, MaxCoalesced) : [Dequeue()];
            if (bundle.Count > 1) Stats.Coalesced += bundle.Count - 1;
            Launch(ctx, [.. bundle.Select(b => b.Block)], decision.ReserveBytes, actor, bundle.Max(b => b.Attempt));
        }
    }

    /// <summary>Runs a task (or a backup copy of one) on <paramref name="actor"/>; its end comes back as <see cref="ExecutorEvent.TaskEnded"/>.</summary>
    private RunningTask Launch(ExecutorContext ctx, IReadOnlyList<Blocks.BlockRef> inputs, long reserved, PoolActor actor, int attempt)
    {
        BeginTask();
        Pool.Begin(actor, ctx.NowTicks);
        // Its own token only when it may be speculated: the losing copy of a speculated task is cancelled alone.
        var cancel = ctx.Options.Speculation.Enabled ? CancellationTokenSource.CreateLinkedTokenSource(ctx.Token) : null;
        var token = cancel?.Token ?? ctx.Token;
        var task = new RunningTask(inputs, reserved, actor, attempt) { StartedTicks = ctx.NowTicks, Cancel = cancel };
        _running.Add(task);
        if (inputs.Count > 1)
        {
            ctx.Watch(ExecutorContext.Safely(() => actor.Handle!.RunManyAsync(task.Inputs, token)),
                t => new ExecutorEvent.TaskEnded(this, task, t.IsCompletedSuccessfully ? t.Result : null, TaskMapOperator.Failure(t)));
        }
        else
        {
            ctx.Watch(ExecutorContext.Safely(() => actor.Handle!.RunAsync(task.Input, token)),
                t => new ExecutorEvent.TaskEnded(this, task, t.IsCompletedSuccessfully ? [t.Result] : null, TaskMapOperator.Failure(t)));
        }
        return task;
    }

    /// <summary>
    /// Actors that could take a task now without waiting behind another: those with none (starting ones included),
    /// and those the pool may still start (up to its target) while the nodes have room for one.
    /// </summary>
    private int SpareActors(ExecutorContext ctx)
    {
        var startable = ctx.Resources.Fits(Pool.Resources) ? Math.Max(0, Math.Min(Target, _spec.Options.Pool.Max) - Pool.Live) : 0;
        return Pool.WithoutTask + startable;
    }

    /// <summary>
    /// More spare actors than queued blocks: the block at the head is cut into batch-aligned slices, one for each actor
    /// that would otherwise wait (at most one per batch), so a few large blocks — the end of the input, a small job —
    /// keep every actor busy. Once the input has ended, the last blocks are spread over every live actor, busy or not:
    /// each slice goes to the next actor that frees, so the job does not end on one actor working through a whole block.
    /// A slice is not cut again, nor is a block of a stage without a batch size (its batch is the block).
    /// </summary>
    private void SliceFirst(ExecutorContext ctx)
    {
        if (_spec.Options.BatchSize is null) return;
        var head = PeekInput().Block;
        var align = SliceAlign;
        if (head.IsView || head.Rows < 2 * align) return;
        var spare = SpareActors(ctx);
        if (UpstreamDone) spare = Math.Max(spare, Pool.Live);
        if (spare <= QueuedBlocks) return;
        var count = Math.Min(spare - QueuedBlocks + 1, (head.Rows + align - 1) / align);
        if (count < 2) return;
        var slices = ctx.Views.Cut(head, Index, count, align);
        ctx.Budget.Release(Index - 1, head);
        foreach (var slice in slices) ctx.Budget.Charge(Index - 1, slice);
        ReplaceFirst(slices);
        Stats.Sliced++;
    }

    /// <summary>
    /// The rows to coalesce small blocks up to (the batch size), or null: only when the head block is smaller than a
    /// batch and the queue holds more blocks than there are spare actors, so coalescing never leaves an actor idle.
    /// </summary>
    private int? CoalesceRows(ExecutorContext ctx)
    {
        if (_spec.Options.BatchSize is not { } batch || QueuedBlocks < 2) return null;
        var head = PeekInput().Block;
        if (head.Rows == 0 || head.Rows >= batch) return null;
        return QueuedBlocks > SpareActors(ctx) ? batch : null;
    }

    /// <summary>The fewest actors the pool wants while input may still come: its min, and at least one (or the input waits forever).</summary>
    private int Floor => Math.Max(_spec.Options.Pool.Min, 1);

    /// <summary>An actor was lost since the last <see cref="Scale"/>: the loop scales at once rather than at its cadence, so it is replaced.</summary>
    public bool ScaleSoon { get; private set; }

    public override void Scale(ExecutorContext ctx)
    {
        ScaleSoon = false;
        Unmet = 0;
        var exhausted = InputExhausted;
        var idle = Pool.IdleToRelease(ctx.Since, ctx.Options.ActorIdleTimeout, exhausted);
        // The input's end leaves the last tasks running: one idle actor per running task stays (the most recently
        // used) while a straggler among them may need a backup copy, the moment speculation helps most.
        if (exhausted && ctx.Options.Speculation.Enabled && Running > 0 && ThresholdTicks(ctx) is not null)
            idle.RemoveRange(Math.Max(0, idle.Count - Running), Math.Min(idle.Count, Running));
        if (idle.Count > 0)
        {
            foreach (var a in idle) StopActor(ctx, a);
            Record(ctx, ScalingDecision.Down(idle.Count, exhausted ? "input exhausted" : $"idle past {ctx.Options.ActorIdleTimeout.TotalSeconds:0.#}s"));
        }
        if (exhausted) return;
        var floor = Math.Max(Target, _spec.Options.Pool.Min);
        if (ShouldYield && Pool.Live > floor)
        {
            // Drain the surplus: no new tasks for them; each is released as its last task ends.
            var surplus = Pool.Actors.Where(a => !a.Stopping).OrderBy(a => a.InFlight).ThenBy(a => a.LastDoneSeq).Take(Pool.Live - floor).ToList();
            foreach (var a in surplus) StopActor(ctx, a);
            Record(ctx, ScalingDecision.Down(surplus.Count, $"rebalance to {floor}: {TargetReason}"));
            return;
        }
        var up = Pool.DecideUp(QueuedBlocks, !UpstreamDone, Target);
        var started = 0;
        while (started < up.Delta && StartActor(ctx)) started++;
        if (started > 0)
            Record(ctx, ScalingDecision.Up(started, up.Reason + (started < up.Delta ? $"; {up.Delta - started} more wanted, resources full ({ctx.Resources.Describe()})" : "")));
        // What it wanted and could not place; a pool below its floor that fits nowhere wants the floor even with no backlog yet.
        Unmet = Math.Max(Math.Max(up.Delta, 0) - started, ctx.Resources.Fits(Pool.Resources) ? 0 : Floor - Pool.Live);
    }

    public void OnActorStarted(ExecutorContext ctx, PoolActor actor, IActorHandle? handle, Exception? error)
    {
        if (error is not null)
        {
            if (Pool.Actors.Contains(actor))
            {
                Pool.Remove(actor);
                ctx.Resources.Release(actor.Grant);
            }
            throw error is SluiceException ? error : new SluiceException($"stage '{Name}': actor {actor.Index} failed to start: {error.Message}", error);
        }
        actor.Handle = handle;
        actor.LastDoneTicks = ctx.NowTicks;
        if (actor.Stopping) Dispose(ctx, actor);
        PeakReady = Math.Max(PeakReady, Pool.ReadyCount);
    }

    /// <summary>The actor's node is gone: the actor stops taking tasks and leaves the pool once its calls have all returned.</summary>
    public void OnActorLost(ExecutorContext ctx, PoolActor actor)
    {
        Record(ctx, ScalingDecision.Down(1, $"actor {actor.Index} lost with node {actor.Grant.Node}"));
        // This process's own node is alive (the executor runs on it); any other node may be dead.
        if (actor.Grant.Node != ctx.Runtime.NodeId) ctx.Resources.Suspect(actor.Grant.Node);
        actor.Stopping = true;
        ScaleSoon = true;
        if (actor.InFlight == 0) Dispose(ctx, actor);
    }

    public void OnTaskEnded(ExecutorContext ctx, RunningTask task, bool succeeded)
    {
        var actor = task.Actor!;
        var now = ctx.NowTicks;
        var busy = Pool.Finished(actor, now);
        if (busy is { } ticks && succeeded)
        {
            _busyTicks += ticks;
            _rowsDone += task.Rows;
        }
        Ended(ctx, task, succeeded, now);
        if (actor.Stopping && actor.InFlight == 0) Dispose(ctx, actor);
    }

    private bool StartActor(ExecutorContext ctx)
    {
        var grant = ctx.Resources.TryAcquire(Pool.Resources);
        if (grant is null) return false;
        var actor = Pool.Add(grant, ctx.NowTicks);
        Stats.ActorsStarted++;
        var context = new ProcessorContext(Name, actor.Index, Pool.Resources, grant.GpuIds, ctx.Simulated);
        var spec = new ActorSpec(Name, actor.Index, _spec.Create, context, _spec.Options.BatchSize, _spec.Descriptor, grant.Node) { OnError = _spec.Options.OnError };
        _started.Add(actor);
        actor.Start = ExecutorContext.Safely(() => ctx.Runtime.StartActorAsync(spec, ctx.Token));
        ctx.Watch(actor.Start, t => new ExecutorEvent.ActorStarted(this, actor, t.IsCompletedSuccessfully ? t.Result : null, TaskMapOperator.Failure(t)));
        return true;
    }

    private void StopActor(ExecutorContext ctx, PoolActor actor)
    {
        actor.Stopping = true;
        if (actor.InFlight == 0 && actor.Handle is not null) Dispose(ctx, actor);
    }

    private void Record(ExecutorContext ctx, ScalingDecision decision)
    {
        var text = decision.ToString();
        Stats.LastScaling = text;
        Log.Scaling(ctx.Logger, Name, text);
    }
}
