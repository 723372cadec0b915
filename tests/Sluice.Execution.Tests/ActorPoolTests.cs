using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Budget;
using Sluice.Execution.Pools;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

public class ActorPoolTests
{
    private sealed class Handle(ActorSpec spec) : IActorHandle
    {
        public ActorSpec Spec => spec;

        public Task<Sluice.Blocks.BlockRef> RunAsync(Sluice.Blocks.BlockRef input, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static (ActorPool Pool, List<PoolActor> Actors) Pool(DispatchPolicy policy, int actors, FakeTimeProvider clock)
    {
        var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(1, 8), MaxConcurrency = 2 }, ResourceRequest.OneCpu, policy);
        var list = new List<PoolActor>();
        for (var i = 0; i < actors; i++)
        {
            var a = pool.Add(new ResourceGrant(ResourceRequest.OneCpu, []), clock.GetTimestamp());
            a.Handle = new Handle(new ActorSpec("s", i, () => throw new NotSupportedException(), new ProcessorContext("s", i, ResourceRequest.OneCpu, []), null));
            list.Add(a);
        }
        return (pool, list);
    }

    /// <summary>Runs one task on the picked actor and finishes it at once: the pattern of a light load.</summary>
    private static PoolActor RunOne(ActorPool pool, FakeTimeProvider clock)
    {
        var a = pool.Pick()!;
        pool.Begin(a, clock.GetTimestamp());
        clock.Advance(TimeSpan.FromMilliseconds(10));
        pool.Finished(a, clock.GetTimestamp());
        return a;
    }

    [Fact]
    public void MostRecentlyUsed_UnderLightLoad_KeepsUsingOneActor_SoTheOthersIdleOut()
    {
        var clock = new FakeTimeProvider();
        var (pool, actors) = Pool(DispatchPolicy.MostRecentlyUsed, 4, clock);
        var used = Enumerable.Range(0, 20).Select(_ => RunOne(pool, clock).Index).ToHashSet();
        Assert.Single(used);
        clock.Advance(TimeSpan.FromSeconds(11));
        var idle = pool.IdleToRelease(clock.GetElapsedTime, TimeSpan.FromSeconds(10), inputExhausted: false);
        Assert.Equal(3, idle.Count); // down to min 1: the cold three go
        Assert.DoesNotContain(actors[used.Single()], idle);
    }

    [Fact]
    public void LeastLoaded_UnderLightLoad_SpreadsOverEveryActor()
    {
        var clock = new FakeTimeProvider();
        var (pool, _) = Pool(DispatchPolicy.LeastLoaded, 4, clock);
        var used = Enumerable.Range(0, 20).Select(_ => RunOne(pool, clock).Index).ToHashSet();
        Assert.Equal(4, used.Count);
    }

    [Fact]
    public void MostRecentlyUsed_PrefersAnIdleActorOverDoublingUpOnABusyOne()
    {
        var clock = new FakeTimeProvider();
        var (pool, actors) = Pool(DispatchPolicy.MostRecentlyUsed, 2, clock);
        var first = pool.Pick()!;
        pool.Begin(first, clock.GetTimestamp());
        Assert.NotSame(first, pool.Pick());
    }

    [Fact]
    public void IdleToRelease_BeforeTheTimeout_ReleasesNothing_AfterIt_DownToMin()
    {
        var clock = new FakeTimeProvider();
        var (pool, _) = Pool(DispatchPolicy.MostRecentlyUsed, 3, clock);
        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Empty(pool.IdleToRelease(clock.GetElapsedTime, TimeSpan.FromSeconds(10), inputExhausted: false));
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(2, pool.IdleToRelease(clock.GetElapsedTime, TimeSpan.FromSeconds(10), inputExhausted: false).Count);
        Assert.Equal(3, pool.IdleToRelease(clock.GetElapsedTime, TimeSpan.FromSeconds(10), inputExhausted: true).Count);
    }

    [Fact]
    public void Pick_PrefersAnIdleActorOnTheNodeHoldingTheInput()
    {
        var clock = new FakeTimeProvider();
        var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(1, 8), MaxConcurrency = 2 }, ResourceRequest.OneCpu, DispatchPolicy.MostRecentlyUsed);
        foreach (var node in new[] { "a", "b", "c" })
        {
            var actor = pool.Add(new ResourceGrant(ResourceRequest.OneCpu, [], node), clock.GetTimestamp());
            actor.Handle = new Handle(new ActorSpec("s", actor.Index, () => throw new NotSupportedException(), new ProcessorContext("s", actor.Index, ResourceRequest.OneCpu, []), null));
        }
        Assert.Equal("b", pool.Pick("b")!.Grant.Node);
        Assert.Equal("c", pool.Pick("c")!.Grant.Node);
        Assert.NotNull(pool.Pick("elsewhere"));
    }
}
