using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Budget;
using Sluice.Execution.Pools;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

/// <summary>The pool's counts and dispatch sets, kept as actors change instead of scanned: they must always equal a scan.</summary>
public class ActorPoolIndexTests
{
    private sealed class Handle(ActorSpec spec) : IActorHandle
    {
        public ActorSpec Spec => spec;

        public Task<Sluice.Blocks.BlockRef> RunAsync(Sluice.Blocks.BlockRef input, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static Handle NewHandle(int i) => new(new ActorSpec("s", i, () => throw new NotSupportedException(), new ProcessorContext("s", i, ResourceRequest.OneCpu, []), null));

    /// <summary>
    /// Property: whatever the sequence of starts, readiness, tasks, stops and removals, the counts equal a scan of the
    /// actors, and the most-recently-used pick (from the sets) is the actor a scan in the old way would pick.
    /// </summary>
    [Fact]
    public void Counts_RandomActorLifecycles_AlwaysEqualAScan()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var clock = new FakeTimeProvider();
            var max = random.Next(1, 4);
            var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(0, 64), MaxConcurrency = max }, ResourceRequest.OneCpu, DispatchPolicy.MostRecentlyUsed);
            var nodes = new[] { "a", "b", "c" };
            for (var step = 0; step < 300; step++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
                var actors = pool.Actors.ToList();
                var pick = random.Next(actors.Count == 0 ? 1 : 7);
                var a = actors.Count == 0 ? null : actors[random.Next(actors.Count)];
                switch (pick)
                {
                    case 0:
                        pool.Add(new ResourceGrant(ResourceRequest.OneCpu, [], nodes[random.Next(nodes.Length)]), clock.GetTimestamp());
                        break;
                    case 1 when a!.Handle is null:
                        a.Handle = NewHandle(a.Index);
                        break;
                    case 2 when a!.Ready && a.InFlight < max:
                        pool.Begin(a, clock.GetTimestamp());
                        break;
                    case 3 when a!.InFlight > 0:
                        pool.Finished(a, clock.GetTimestamp());
                        break;
                    case 4:
                        a!.Stopping = true;
                        break;
                    case 5 when a!.InFlight == 0 && (a.Stopping || random.Next(4) == 0):
                        pool.Remove(a);
                        break;
                    case 6:
                        var node = nodes[random.Next(nodes.Length)];
                        Assert.Same(ScanPick(pool, max, node), pool.Pick(node));
                        Assert.Same(ScanPick(pool, max, null), pool.Pick());
                        break;
                }
                Assert.Empty(pool.Check());
                var live = pool.Actors.Where(x => !x.Stopping).ToList();
                Assert.Equal(live.Count, pool.Live);
                Assert.Equal(live.Count(x => x.Handle is null), pool.Starting);
                Assert.Equal(pool.Actors.Count(x => x.Ready), pool.ReadyCount);
                Assert.Equal(pool.Actors.Count(x => x.Ready && x.InFlight == 0), pool.Idle);
                Assert.Equal(live.Sum(x => max - x.InFlight), pool.FreeSlots);
                Assert.Equal(pool.Actors.GroupBy(x => x.Grant.Node).ToDictionary(g => g.Key, g => g.Count()), pool.ActorsPerNode);
            }
        }
    }

    /// <summary>The pick the pool made by scanning every actor before it kept sets: idle first (on the input's node first), latest finish, oldest actor.</summary>
    private static PoolActor? ScanPick(ActorPool pool, int max, string? node)
    {
        var ready = pool.Actors.Where(a => a.Ready && a.InFlight < max).OrderByDescending(a => a.LastDoneSeq).ThenBy(a => a.Index).ToList();
        return ready.FirstOrDefault(a => a.InFlight == 0 && a.Grant.Node == node)
            ?? ready.FirstOrDefault(a => a.InFlight == 0)
            ?? ready.FirstOrDefault();
    }

    [Fact]
    public void IdleToRelease_ManyActors_LeastRecentlyUsedFirstAndNeverABusyOrStartingOne()
    {
        var clock = new FakeTimeProvider();
        var pool = new ActorPool(new MapBatchesOptions { Pool = new PoolSize(2, 100), MaxConcurrency = 1 }, ResourceRequest.OneCpu, DispatchPolicy.MostRecentlyUsed);
        var actors = Enumerable.Range(0, 10).Select(_ => pool.Add(new ResourceGrant(ResourceRequest.OneCpu, []), clock.GetTimestamp())).ToList();
        foreach (var a in actors.Take(9)) a.Handle = NewHandle(a.Index); // actor 9 is still starting
        // Actors 0..7 each run a task, in that order: 7 is the most recently used, 0 the least.
        foreach (var a in actors.Take(8))
        {
            pool.Begin(a, clock.GetTimestamp());
            pool.Finished(a, clock.GetTimestamp());
        }
        pool.Begin(actors[3], clock.GetTimestamp()); // busy
        clock.Advance(TimeSpan.FromSeconds(11));

        var released = pool.IdleToRelease(clock.GetElapsedTime, TimeSpan.FromSeconds(10), inputExhausted: false);

        // 10 live, min 2: 8 may go. Idle and ready: 8 (never ran a task), then 0, 1, 2, 4, 5, 6, 7 (3 is busy, 9 starting).
        Assert.Equal([8, 0, 1, 2, 4, 5, 6, 7], released.Select(a => a.Index));
    }
}
