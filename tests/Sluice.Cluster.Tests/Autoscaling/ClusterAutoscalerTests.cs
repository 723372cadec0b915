using Microsoft.Extensions.Time.Testing;
using Sluice.Cluster.Autoscaling;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Stats;

namespace Sluice.Cluster.Tests.Autoscaling;

/// <summary>The autoscaler's turns against a fake provider and membership, on a fake clock: what it asks for, what it remembers.</summary>
public sealed class ClusterAutoscalerTests
{
    private static readonly WorkerGroup Gpu = new() { Name = "gpu", Max = 3, Cpus = 1, Gpus = 1, SimulatedGpus = true };
    private static readonly AutoscaleOptions Options = new() { Groups = [Gpu], IdleTimeout = TimeSpan.FromSeconds(2), UpDelay = TimeSpan.FromSeconds(0.5) };

    [Fact]
    public async Task StepAsync_DemandThenJoinsThenIdle_AddsOnceCountsJoinsAndRemovesAfterTheIdleTimeout()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero));
        var provider = new FakeProvider();
        var snapshot = ExecutionSnapshot.Empty;
        var log = new List<string>();
        await using var autoscaler = ClusterAutoscaler.Create(Options, provider, () => provider.Nodes, () => snapshot, log.Add, clock);

        snapshot = snapshot with { Unmet = [new ActorDemand("embed", new ResourceRequest(Gpus: 1), 3)] };
        await autoscaler.StepAsync();
        Assert.Empty(provider.Added);
        clock.Advance(TimeSpan.FromSeconds(0.5));
        await autoscaler.StepAsync();
        Assert.Equal([3], provider.Added);
        // Demand unchanged while the launches are pending: nothing more is asked for.
        clock.Advance(TimeSpan.FromSeconds(1));
        await autoscaler.StepAsync();
        Assert.Equal([3], provider.Added);

        provider.Join(3);
        snapshot = snapshot with { Unmet = [], ActorsPerNode = provider.Nodes.Skip(1).ToDictionary(n => n.Id, _ => 1) };
        await autoscaler.StepAsync();
        Assert.Equal(3, autoscaler.PeakWorkers["gpu"]);

        // The job's actors go: after the idle timeout (and the group's last add further back than that) the workers go too.
        snapshot = snapshot with { ActorsPerNode = new Dictionary<string, int>() };
        await autoscaler.StepAsync();
        clock.Advance(TimeSpan.FromSeconds(1.5));
        await autoscaler.StepAsync();
        Assert.Empty(provider.Removed);
        clock.Advance(TimeSpan.FromSeconds(1));
        await autoscaler.StepAsync();
        Assert.Equal(3, provider.Removed.Count);
        Assert.Equal([AutoscaleAction.Add, AutoscaleAction.Remove], autoscaler.Decisions.Select(d => d.Action));
        Assert.Contains(log, l => l.Contains("+3 gpu: stage 'embed' wants 3 more actor(s) x gpus=1 that fit no node", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DisposeAsync_JobOver_RemovesWorkersAboveMinAndDisposesTheProvider()
    {
        var clock = new FakeTimeProvider();
        var provider = new FakeProvider();
        var options = Options with { Groups = [Gpu with { Min = 1 }] };
        var autoscaler = ClusterAutoscaler.Create(options, provider, () => provider.Nodes, () => ExecutionSnapshot.Empty, null, clock);
        await autoscaler.StepAsync();
        Assert.Equal([1], provider.Added);
        provider.Join(1);
        provider.AddAsyncJoin(2);
        await autoscaler.StepAsync();
        await autoscaler.DisposeAsync();
        Assert.Equal(2, provider.Removed.Count);
        Assert.True(provider.Disposed);
        Assert.Equal(2, provider.Nodes.Count); // the driver and the one worker of the group's min
    }

    /// <summary>A provider whose workers "join" when the test says so: membership is a list.</summary>
    private sealed class FakeProvider : IWorkerProvider
    {
        private int _seq;

        public List<NodeInfo> Nodes { get; } = [new("driver", new NodeResources(0, 0, 0))];

        public List<int> Added { get; } = [];

        public List<string> Removed { get; } = [];

        public bool Disposed { get; private set; }

        public string Name => "fake";

        public void Join(int count)
        {
            for (var i = 0; i < count; i++) Nodes.Add(new NodeInfo($"gpu-{++_seq}", Gpu.Offers) { Group = "gpu" });
        }

        /// <summary>Workers of the group that joined without this autoscaler asking (another driver's, or an earlier run's).</summary>
        public void AddAsyncJoin(int count) => Join(count);

        public Task AddAsync(WorkerGroup group, int count, CancellationToken cancellationToken)
        {
            Added.Add(count);
            return Task.CompletedTask;
        }

        public Task RemoveAsync(WorkerGroup group, IReadOnlyList<string> nodeIds, CancellationToken cancellationToken)
        {
            Removed.AddRange(nodeIds);
            Nodes.RemoveAll(n => nodeIds.Contains(n.Id));
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
