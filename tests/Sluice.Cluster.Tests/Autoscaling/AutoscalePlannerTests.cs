using Sluice.Cluster.Autoscaling;
using Sluice.Contracts;
using Sluice.Execution.Stats;

namespace Sluice.Cluster.Tests.Autoscaling;

/// <summary>The planner's rules on explicit times: no clock, no cluster, no sleep.</summary>
public sealed class AutoscalePlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private static readonly ResourceRequest OneGpu = new(Cpus: 0, Gpus: 1);
    private static readonly WorkerGroup Cpu = new() { Name = "cpu", Max = 4, Cpus = 4 };
    private static readonly WorkerGroup Gpu = new() { Name = "gpu", Max = 3, Cpus = 1, Gpus = 1, SimulatedGpus = true };
    private static readonly AutoscaleOptions Options = new() { Groups = [Cpu, Gpu], IdleTimeout = TimeSpan.FromSeconds(30), UpDelay = TimeSpan.FromSeconds(1), LaunchTimeout = TimeSpan.FromMinutes(3) };

    private static AutoscaleState State(IReadOnlyList<ActorDemand> unmet, DateTimeOffset? since, params GroupState[] groups) => new(unmet, since, groups);

    private static GroupState Group(WorkerGroup g, IReadOnlyList<WorkerState>? workers = null, IReadOnlyList<DateTimeOffset>? pending = null, DateTimeOffset? lastAdd = null) =>
        new(g, workers ?? [], pending ?? [], lastAdd);

    private static ActorDemand Embed(int actors) => new("embed", OneGpu, actors);

    [Fact]
    public void Decide_DemandLastedUpDelay_AddsWorkersOfTheFirstGroupThatFits()
    {
        var d = Assert.Single(AutoscalePlanner.Decide(State([Embed(2)], T0, Group(Cpu), Group(Gpu)), Options, T0.AddSeconds(1)));
        Assert.Equal(AutoscaleAction.Add, d.Action);
        Assert.Equal("gpu", d.Group);
        Assert.Equal(2, d.Count);
        Assert.Equal("stage 'embed' wants 2 more actor(s) x gpus=1 that fit no node: +2 gpu", d.Reason);
    }

    [Fact]
    public void Decide_DemandYoungerThanUpDelay_AddsNothing()
    {
        Assert.Empty(AutoscalePlanner.Decide(State([Embed(2)], T0, Group(Cpu), Group(Gpu)), Options, T0.AddMilliseconds(500)));
    }

    [Fact]
    public void Decide_PendingLaunchesCoverTheDemand_AddsOnlyTheRest()
    {
        var d = Assert.Single(AutoscalePlanner.Decide(State([Embed(3)], T0, Group(Cpu), Group(Gpu, pending: [T0, T0])), Options, T0.AddSeconds(2)));
        Assert.Equal(1, d.Count);
        Assert.Empty(AutoscalePlanner.Decide(State([Embed(2)], T0, Group(Cpu), Group(Gpu, pending: [T0, T0])), Options, T0.AddSeconds(2)));
    }

    [Fact]
    public void Decide_JoinedWorkerWithoutActorsYet_CountsAsRoomNotDemand()
    {
        // The executor adds a joined node on its next tick: until then its room is not a reason to add another worker.
        var fresh = new WorkerState("gpu-1", 0, T0);
        Assert.Empty(AutoscalePlanner.Decide(State([Embed(1)], T0, Group(Cpu), Group(Gpu, [fresh])), Options, T0.AddSeconds(2)));
    }

    [Fact]
    public void Decide_MaxReached_AddsUpToMaxCountingJoinedAndPending()
    {
        var busy = new WorkerState("gpu-1", 1, null);
        var d = Assert.Single(AutoscalePlanner.Decide(State([Embed(5)], T0, Group(Cpu), Group(Gpu, [busy], pending: [T0])), Options, T0.AddSeconds(2)));
        // 5 wanted: one into the pending launch, then 3 - (1 joined + 1 pending) = 1 more.
        Assert.Equal(1, d.Count);
        Assert.Empty(AutoscalePlanner.Decide(State([Embed(5)], T0, Group(Cpu), Group(Gpu, [busy, busy with { NodeId = "gpu-2" }], pending: [T0])), Options, T0.AddSeconds(2)));
    }

    [Fact]
    public void Decide_SmallActors_PackedSeveralToAWorker()
    {
        var d = Assert.Single(AutoscalePlanner.Decide(State([new ActorDemand("tok", new ResourceRequest(Cpus: 1), 6)], T0, Group(Cpu), Group(Gpu)), Options, T0.AddSeconds(2)));
        Assert.Equal(("cpu", 2), (d.Group, d.Count));
    }

    [Fact]
    public void Decide_GroupBelowMin_AddsAtOnceWithoutDemand()
    {
        var options = Options with { Groups = [Cpu with { Min = 2 }, Gpu] };
        var d = Assert.Single(AutoscalePlanner.Decide(State([], null, Group(options.Groups[0]), Group(Gpu)), options, T0));
        Assert.Equal((AutoscaleAction.Add, "cpu", 2), (d.Action, d.Group, d.Count));
        Assert.Contains("min 2", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_IdlePastTimeout_RemovedDownToMin()
    {
        var options = Options with { Groups = [Cpu, Gpu with { Min = 1 }] };
        var idle = new[] { new WorkerState("gpu-1", 0, T0), new WorkerState("gpu-2", 0, T0.AddSeconds(5)), new WorkerState("gpu-3", 0, T0.AddSeconds(1)) };
        var d = Assert.Single(AutoscalePlanner.Decide(State([], null, Group(Cpu), Group(options.Groups[1], idle)), options, T0.AddSeconds(40)));
        Assert.Equal(AutoscaleAction.Remove, d.Action);
        Assert.Equal(["gpu-1", "gpu-3"], d.Nodes);
        Assert.Contains("idle_timeout 30s", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_IdleButNotLongEnough_Kept()
    {
        Assert.Empty(AutoscalePlanner.Decide(State([], null, Group(Cpu), Group(Gpu, [new WorkerState("gpu-1", 0, T0)])), Options, T0.AddSeconds(29)));
    }

    [Fact]
    public void Decide_IdleWhileDemandItCouldServe_Kept()
    {
        // Demand that fits the group's workers (waiting, e.g., for the idle worker to be used): no removal.
        var d = AutoscalePlanner.Decide(State([Embed(1)], T0.AddSeconds(39), Group(Cpu), Group(Gpu, [new WorkerState("gpu-1", 0, T0)])), Options, T0.AddSeconds(40));
        Assert.DoesNotContain(d, x => x.Action == AutoscaleAction.Remove);
    }

    [Fact]
    public void Decide_BlinkingDemand_NeitherAddsNorRemoves()
    {
        // Demand on for 0.5 s, off for 0.5 s, for a minute, with one worker that was added at the start and is idle between
        // blinks: the blinks never last up_delay (no add), and the group's last add keeps the worker for the idle timeout.
        var busyAt = T0;
        var lastAdd = T0;
        var decisions = new List<AutoscaleDecision>();
        for (var ms = 0; ms < 60_000; ms += 250)
        {
            var now = T0.AddMilliseconds(ms);
            var on = ms / 500 % 2 == 0;
            var since = on ? T0.AddMilliseconds(ms / 500 * 500) : (DateTimeOffset?)null;
            var worker = new WorkerState("gpu-1", 0, busyAt);
            if (on) busyAt = now;
            var made = AutoscalePlanner.Decide(State(on ? [Embed(1), Embed(1) with { Stage = "other" }] : [], since, Group(Cpu), Group(Gpu, [worker], lastAdd: lastAdd)), Options, now);
            decisions.AddRange(made);
        }
        Assert.Empty(decisions);
    }

    [Fact]
    public void Decide_RecentAdd_NoRemovalWithinIdleTimeout()
    {
        var idle = new WorkerState("gpu-1", 0, T0);
        Assert.Empty(AutoscalePlanner.Decide(State([], null, Group(Cpu), Group(Gpu, [idle], lastAdd: T0.AddSeconds(20))), Options, T0.AddSeconds(45)));
        Assert.Single(AutoscalePlanner.Decide(State([], null, Group(Cpu), Group(Gpu, [idle], lastAdd: T0.AddSeconds(20))), Options, T0.AddSeconds(50)));
    }

    [Fact]
    public void Decide_LaunchNeverJoined_GivenUpAndAskedForAgain()
    {
        var decisions = AutoscalePlanner.Decide(State([Embed(1)], T0, Group(Cpu), Group(Gpu, pending: [T0])), Options, T0.AddMinutes(3));
        Assert.Equal([AutoscaleAction.GiveUp, AutoscaleAction.Add], decisions.Select(d => d.Action));
        Assert.Contains("launch_timeout 180s", decisions[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_JobDone_RemovesEveryWorkerAboveMin()
    {
        var options = Options with { Groups = [Cpu with { Min = 1 }, Gpu] };
        var workers = new[] { new WorkerState("cpu-1", 0, T0), new WorkerState("cpu-2", 0, T0.AddSeconds(9)) };
        var gpus = new[] { new WorkerState("gpu-1", 0, T0.AddSeconds(9)), new WorkerState("gpu-2", 0, T0.AddSeconds(9)) };
        var decisions = AutoscalePlanner.Decide(new AutoscaleState([], null, [Group(options.Groups[0], workers, lastAdd: T0.AddSeconds(9)), Group(Gpu, gpus, lastAdd: T0.AddSeconds(9))], JobDone: true), options, T0.AddSeconds(10));
        Assert.Equal([("cpu", 1), ("gpu", 2)], decisions.Select(d => (d.Group, d.Nodes.Count)));
        Assert.All(decisions, d => Assert.Equal(AutoscaleAction.Remove, d.Action));
    }

    [Fact]
    public void Unservable_StageNoGroupFits_NamesTheStageAndTheGroups()
    {
        var problem = Assert.Single(Options.Unservable([new("big", 1, new ResourceRequest(Gpus: 2)), new("embed", 0, OneGpu)]));
        Assert.Contains("stage 'big'", problem, StringComparison.Ordinal);
        Assert.Contains("cpu: cpus=4 gpus=0", problem, StringComparison.Ordinal);
        Assert.Contains("gpu: cpus=1 gpus=1 (simulated)", problem, StringComparison.Ordinal);
    }
}
