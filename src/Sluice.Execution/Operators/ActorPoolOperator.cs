using Sluice.Contracts;
using Sluice.Execution.Planning;
using Sluice.Execution.Pools;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>Runs a processor on an elastic actor pool (see <see cref="ActorMapSpec"/>).</summary>
internal sealed class ActorPoolOperator : OperatorState
{
    private readonly ActorMapSpec _spec;

    public ActorPoolOperator(int index, ActorMapSpec spec, DispatchPolicy policy)
        : base(index, spec)
    {
        _spec = spec;
        Pool = new ActorPool(spec.Options, spec.Resources, policy);
    }

    public ActorPool Pool { get; }

    public override string Kind => "actors";

    public override (int Ready, int Starting, int Idle) Actors => (Pool.ReadyCount, Pool.Starting, Pool.Idle);

    /// <summary>Starts the pool's initial actors; refuses when the node cannot hold the pool's minimum.</summary>
    public void StartInitial(ExecutorContext ctx)
    {
        var initial = _spec.Options.Pool.InitialOrDefault;
        for (var i = 0; i < initial; i++)
        {
            if (!ctx.Resources.Fits(Pool.Resources))
            {
                if (i < _spec.Options.Pool.Min)
                {
                    throw new SluiceException(
                        $"stage '{Name}': pool.min {_spec.Options.Pool.Min} actors x {Pool.Resources} do not fit the node ({ctx.Resources.Node}, in use {ctx.Resources.Describe()}); lower pool.min or the stage's resources");
                }
                break;
            }
            StartActor(ctx);
        }
        Stats.LastScaling = ScalingDecision.Up(Pool.Live, "initial").ToString();
    }

    public override void Dispatch(ExecutorContext ctx)
    {
        while (HasInput)
        {
            var actor = Pool.Pick();
            if (actor is null)
            {
                Stats.BackPressure = Pool.Live == 0 ? "no actor" : "every actor slot is busy";
                return;
            }
            var decision = ctx.Budget.TryReserve(Index, NextInputBytes);
            if (!decision.Allowed)
            {
                Stats.BackPressure = decision.Reason;
                return;
            }
            Stats.BackPressure = null;
            MarkStarted(ctx);
            var queued = Dequeue();
            Running++;
            actor.InFlight++;
            var task = new RunningTask(queued.Block, decision.ReserveBytes, actor, queued.Attempt);
            ctx.Watch(actor.Handle!.RunAsync(queued.Block, ctx.Token),
                t => new ExecutorEvent.TaskEnded(this, task, t.IsCompletedSuccessfully ? t.Result : null, TaskMapOperator.Failure(t)));
        }
    }

    public override void Scale(ExecutorContext ctx)
    {
        var exhausted = UpstreamDone && !HasInput;
        var idle = Pool.IdleToRelease(ctx.Since, ctx.Options.ActorIdleTimeout, exhausted);
        if (idle.Count > 0)
        {
            foreach (var a in idle) StopActor(ctx, a);
            Record(ctx, ScalingDecision.Down(idle.Count, exhausted ? "input exhausted" : $"idle past {ctx.Options.ActorIdleTimeout.TotalSeconds:0.#}s"));
        }
        if (exhausted) return;
        var up = Pool.DecideUp(QueuedBlocks, !UpstreamDone);
        if (up.Delta <= 0) return;
        var started = 0;
        for (; started < up.Delta && ctx.Resources.Fits(Pool.Resources); started++) StartActor(ctx);
        if (started > 0)
            Record(ctx, ScalingDecision.Up(started, up.Reason + (started < up.Delta ? $"; {up.Delta - started} more wanted, resources full ({ctx.Resources.Describe()})" : "")));
    }

    public void OnActorStarted(ExecutorContext ctx, PoolActor actor, IActorHandle? handle, Exception? error)
    {
        if (error is not null)
        {
            Pool.Remove(actor);
            ctx.Resources.Release(actor.Resources);
            throw error is SluiceException ? error : new SluiceException($"stage '{Name}': actor {actor.Index} failed to start: {error.Message}", error);
        }
        actor.Handle = handle;
        actor.LastDoneTicks = ctx.NowTicks;
        if (actor.Stopping) _ = handle!.DisposeAsync().AsTask();
    }

    public void OnTaskEnded(ExecutorContext ctx, PoolActor actor)
    {
        Pool.Finished(actor, ctx.NowTicks);
        if (actor.Stopping && actor.InFlight == 0) Dispose(ctx, actor);
    }

    public override async ValueTask ShutdownAsync()
    {
        foreach (var a in Pool.Actors.ToList())
        {
            if (a.Handle is { } h) await h.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void StartActor(ExecutorContext ctx)
    {
        ctx.Resources.TryAcquire(Pool.Resources);
        var actor = Pool.Add(ctx.NowTicks);
        Stats.ActorsStarted++;
        var context = new ProcessorContext(Name, actor.Index, Pool.Resources, []);
        var spec = new ActorSpec(Name, actor.Index, _spec.Create, context, _spec.Options.BatchSize);
        ctx.Watch(ctx.Runtime.StartActorAsync(spec, ctx.Token),
            t => new ExecutorEvent.ActorStarted(this, actor, t.IsCompletedSuccessfully ? t.Result : null, TaskMapOperator.Failure(t)));
    }

    private void StopActor(ExecutorContext ctx, PoolActor actor)
    {
        actor.Stopping = true;
        if (actor.InFlight == 0) Dispose(ctx, actor);
    }

    private void Dispose(ExecutorContext ctx, PoolActor actor)
    {
        Pool.Remove(actor);
        ctx.Resources.Release(actor.Resources);
        if (actor.Handle is { } h) _ = h.DisposeAsync().AsTask();
    }

    private void Record(ExecutorContext ctx, ScalingDecision decision)
    {
        var text = decision.ToString();
        Stats.LastScaling = text;
        Log.Scaling(ctx.Logger, Name, text);
    }
}
