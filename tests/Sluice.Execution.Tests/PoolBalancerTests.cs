using Sluice.Execution.Pools;

namespace Sluice.Execution.Tests;

/// <summary>The balancer is a function from pool views to decisions: no executor, no clock.</summary>
public sealed class PoolBalancerTests
{
    private static PoolView Gpu(string name, int live, double? costMs, int min = 1, int max = 8, bool backlog = false, bool oneMoreFits = true, bool active = true) =>
        new(name, "gpus", 1, min, max, live, costMs / 1000, active, backlog, oneMoreFits);

    [Fact]
    public void Decide_CostsUnknown_EvenSplitOfTheDevices()
    {
        var decisions = PoolBalancer.Decide([Gpu("a", 1, null), Gpu("b", 1, 10)], totalGpus: 4, totalCpus: 8);

        Assert.Equal([2, 2], decisions.Select(d => d.Target));
        Assert.All(decisions, d => Assert.Contains("even split of 4 gpus", d.Reason));
        Assert.All(decisions, d => Assert.False(d.ShouldYield));
    }

    [Fact]
    public void Decide_StageThreeTimesSlower_GetsThreeTimesTheDevices()
    {
        var decisions = PoolBalancer.Decide([Gpu("fast", 2, 1), Gpu("slow", 2, 3)], totalGpus: 4, totalCpus: 8);

        Assert.Equal([1, 3], decisions.Select(d => d.Target));
        Assert.Contains("3 ms/row vs 'fast' 1 ms", decisions[1].Reason);
    }

    [Fact]
    public void Decide_ShareNearHalf_PoolThatAlreadyRoundsItsShareKeepsItsSize()
    {
        // Shares 2.5 and 1.5 of 4: sizes 2/2 and 3/1 both round them; neither flips to the other (each flip is a model load).
        var fromEven = PoolBalancer.Decide([Gpu("a", 2, 5), Gpu("b", 2, 3)], totalGpus: 4, totalCpus: 8);
        var fromSkewed = PoolBalancer.Decide([Gpu("a", 3, 5), Gpu("b", 1, 3)], totalGpus: 4, totalCpus: 8);

        Assert.Equal([2, 2], fromEven.Select(d => d.Target));
        Assert.Equal([3, 1], fromSkewed.Select(d => d.Target));
    }

    [Fact]
    public void Decide_SameViewsTurnAfterTurn_SameDecisions()
    {
        IReadOnlyList<PoolView> views = [Gpu("a", 2, 5), Gpu("b", 2, 3)];
        var first = PoolBalancer.Decide(views, 4, 8);

        for (var turn = 0; turn < 10; turn++)
        {
            var next = PoolBalancer.Decide(views, 4, 8);
            views = [views[0] with { Live = next[0].Target }, views[1] with { Live = next[1].Target }];
            Assert.Equal(first, next);
        }
    }

    [Fact]
    public void Decide_SizeOutsideTheRoundingOfItsShare_Moves()
    {
        var decisions = PoolBalancer.Decide([Gpu("a", 1, 5), Gpu("b", 3, 3)], totalGpus: 4, totalCpus: 8);

        // Shares 2.5 and 1.5: size 1 rounds neither 2 nor 3, size 3 rounds neither 1 nor 2, so both move.
        Assert.Equal([3, 1], decisions.Select(d => d.Target));
    }

    [Fact]
    public void Decide_PoolStarvedBelowTarget_OtherPoolAboveItsTargetYields()
    {
        var decisions = PoolBalancer.Decide([Gpu("fast", 3, 1), Gpu("slow", 1, 3, backlog: true, oneMoreFits: false)], totalGpus: 4, totalCpus: 8);

        Assert.Equal([1, 3], decisions.Select(d => d.Target));
        Assert.True(decisions[0].ShouldYield);
        Assert.False(decisions[1].ShouldYield);
    }

    [Fact]
    public void Decide_NobodyStarved_NobodyYields()
    {
        var decisions = PoolBalancer.Decide([Gpu("fast", 3, 1), Gpu("slow", 1, 3, backlog: true, oneMoreFits: true)], totalGpus: 4, totalCpus: 8);

        Assert.All(decisions, d => Assert.False(d.ShouldYield));
    }

    [Fact]
    public void Decide_PoolsOfDifferentResourcesOrExhausted_NotBalancedAgainstEachOther()
    {
        var cpu = new PoolView("tok", "cpus", 1, 1, 4, 4, 0.001, true, true, false);
        var decisions = PoolBalancer.Decide([Gpu("model", 2, 3), cpu, Gpu("done", 2, 1, active: false)], totalGpus: 4, totalCpus: 8);

        Assert.Equal([8, 4, 8], decisions.Select(d => d.Target));
        Assert.All(decisions, d => Assert.Null(d.Reason));
    }

    [Fact]
    public void Decide_MinAndMax_Respected()
    {
        var decisions = PoolBalancer.Decide([Gpu("fast", 2, 1, min: 2), Gpu("slow", 2, 100, max: 3)], totalGpus: 6, totalCpus: 8);

        Assert.True(decisions[0].Target >= 2);
        Assert.True(decisions[1].Target <= 3);
    }
}
