using Sluice.Execution.Pools;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Operators;

/// <summary>The end of actors: released while the job runs (scaled down, lost) and at shutdown, each exactly once.</summary>
internal sealed partial class ActorPoolOperator
{
    // Every actor this operator ever started, and the disposals begun while the job ran: at shutdown each
    // actor that came back is disposed exactly once, even one the pool had already dropped.
    private readonly List<PoolActor> _started = [];
    private readonly List<Task> _disposals = [];

    /// <summary>
    /// Disposes every actor that came back, including those still starting when the job ended: their starts
    /// were cancelled, and each one that returns a handle anyway is disposed when it does. One disposal that
    /// fails skips none of the others; the failures are thrown together at the end.
    /// </summary>
    public override async ValueTask ShutdownAsync()
    {
        var disposals = new List<Task>(_disposals);
        foreach (var a in _started)
        {
            if (a.Disposed) continue;
            if (Suspicion?.IsSuspected(a.Grant.Node) == true)
            {
                // A stuck node answers nothing, a release included: not awaited (the job would wait for membership to
                // declare the node dead); released in the background if the node comes back.
                a.Disposed = true;
                _ = ReleaseInBackground(a);
                continue;
            }
            var handle = a.Handle;
            if (handle is null && a.Start is { } start)
            {
                try
                {
                    handle = await start.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // It never started (cancelled, or failed and reported): there is nothing to release.
                }
            }
            if (handle is null) continue;
            a.Handle = handle;
            a.Disposed = true;
            disposals.Add(DisposeSafely(handle));
        }
        try
        {
            await Task.WhenAll(disposals).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Collected below, every one of them.
        }
        var errors = disposals.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions).ToList();
        if (errors.Count > 0) throw new AggregateException($"stage '{Name}': {errors.Count} actor(s) failed to release", errors);
    }

    private static Task DisposeSafely(IActorHandle handle)
    {
        try
        {
            return handle.DisposeAsync().AsTask();
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private void Dispose(ExecutorContext ctx, PoolActor actor)
    {
        if (Pool.Actors.Contains(actor))
        {
            Pool.Remove(actor);
            ctx.Resources.Release(actor.Grant);
        }
        // An actor dropped while starting (its node lost) is disposed here once its start comes back.
        if (actor.Handle is not { } h || actor.Disposed) return;
        actor.Disposed = true;
        // Not awaited by the loop (a dead node's actor may take a while to fail); shutdown awaits it and reports failures,
        // unless its node is suspected of being stuck: a release there is not awaited at all.
        var disposal = DisposeSafely(h);
        if (Suspicion?.IsSuspected(actor.Grant.Node) != true) _disposals.Add(disposal);
    }

    /// <summary>Releases an actor of a suspected node whenever its start or release comes back; failures are the node's, ignored.</summary>
    private static async Task ReleaseInBackground(PoolActor actor)
    {
        try
        {
            var handle = actor.Handle ?? (actor.Start is { } start ? await start.ConfigureAwait(false) : null);
            if (handle is not null) await handle.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The node is stuck or gone, and the processor with it.
        }
    }
}
