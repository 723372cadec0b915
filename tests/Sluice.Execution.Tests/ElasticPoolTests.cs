using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;
using Sluice.Execution.Simulation;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Tests;

public class ElasticPoolTests
{
    /// <summary>Waits (bounded) until the executor's loop, on its own thread, has published what the test expects.</summary>
    private static ExecutionSnapshot Until(JobExecution job, Func<ExecutionSnapshot, bool> condition)
    {
        ExecutionSnapshot s = job.Snapshot;
        Assert.True(SpinWait.SpinUntil(() => (s = job.Snapshot).Operators.Count > 0 && condition(s) || job.Completion.IsFaulted, TimeSpan.FromSeconds(20)),
            $"timed out; last snapshot: {string.Join("; ", s.Operators.Select(o => $"{o.Name} rows {o.RowsOut} ready {o.ActorsReady} idle {o.ActorsIdle}"))}");
        if (job.Completion.IsFaulted) throw job.Completion.Exception!;
        return s;
    }

    [Fact]
    public async Task IdleActors_AreReleasedAfterTheTimeout_NotBefore_DrivenByAFakeClock()
    {
        var clock = new FakeTimeProvider();
        var source = new GatedSource(before: 6, after: 2, rows: 10);
        var ds = Dataset.Read(source).MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 3, Initial: 3), MaxConcurrency = 1 });
        var job = JobExecution.Start(ds, new MemorySink(), new ExecutionOptions
        {
            Resources = new NodeResources(4, 0, 1L << 30),
            TimeProvider = clock,
            ActorIdleTimeout = TimeSpan.FromSeconds(10),
        });

        Until(job, s => s.Operators[1].RowsOut == 60 && s.Operators[1].ActorsIdle == 3);
        clock.Advance(TimeSpan.FromSeconds(9));
        var before = Until(job, s => s.Elapsed >= TimeSpan.FromSeconds(9));
        Assert.Equal(3, before.Operators[1].ActorsReady);

        clock.Advance(TimeSpan.FromSeconds(2));
        var after = Until(job, s => s.Elapsed >= TimeSpan.FromSeconds(11) && s.Operators[1].ActorsReady == 1);
        Assert.Equal("down 2: idle past 10s", after.Operators[1].LastScaling);

        source.Gate.SetResult();
        var done = await job.Completion;
        Assert.Equal(80, done.Operators[^1].RowsOut);
    }

    [Fact]
    public async Task FastUpstreamSlowDownstream_OnSharedGpus_ResourcesMoveToTheBottleneck()
    {
        // A costs 0.25 ms/row, B 1 ms/row, both GPU stages with pools (1, 8) on 8 simulated GPUs.
        // The reader feeds A first, so A grabs the GPUs by backlog; balancing by measured cost must
        // move them to B (about 6 of 8), or B would crawl with one or two actors.
        var ds = Dataset.Range(16_000, new Plan.ReadOptions { BlockRows = 32 }, tasks: 8)
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(PerRowMs: 0.25)), "simulate", new MapBatchesOptions { Name = "A", Pool = new PoolSize(1, 8), Resources = new ResourceRequest(Gpus: 1) })
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(PerRowMs: 1)), "simulate", new MapBatchesOptions { Name = "B", Pool = new PoolSize(1, 8), Resources = new ResourceRequest(Gpus: 1) });
        var sink = new MemorySink();
        var job = JobExecution.Start(ds, sink, new ExecutionOptions { Resources = new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(8) });
        var mid = Until(job, s => s.Operators[2].RowsOut >= 6_000);
        var stats = await job.Completion;

        Assert.Equal(16_000, sink.Rows);
        var a = mid.Operators[1];
        var b = mid.Operators[2];
        Assert.True(b.Target >= 5, $"B target {b.Target} ({b.TargetReason})");
        Assert.True(a.Target <= 3, $"A target {a.Target}");
        Assert.True(stats.Operators[2].PeakActors >= 5, $"B peaked at {stats.Operators[2].PeakActors} actors");
        Assert.All(stats.PeakDeviceAllocation, u => Assert.True(u <= 1 + 1e-9));
    }

    [Fact]
    public async Task SimulateStage_WithoutSimulatedGpus_IsRefusedBeforeItStarts()
    {
        var ds = Dataset.Range(10).MapBatches(() => new SimulateProcessor(new SimulateOptions()), "simulate", new MapBatchesOptions { Name = "gpu-stage", Resources = new ResourceRequest(Gpus: 1) });
        var sink = new MemorySink();
        var e = await Assert.ThrowsAsync<SluiceException>(() => ds.WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(2, 0, 1L << 30) }));
        Assert.Contains("the job cannot start", e.Message);
        Assert.Contains("stage 'gpu-stage'", e.Message);
        Assert.Contains("--sim-gpus", e.Message);
        Assert.Equal(0, sink.Rows);
    }

    /// <summary>Property: random stages, fractional and whole GPU requests and pool sizes on random simulated nodes
    /// always finish with every row, and no device is ever allocated beyond 1.</summary>
    [Fact]
    public async Task RandomPoolsAndRequests_OnSimulatedGpus_EveryRowOnce_NoDeviceOverCommitted()
    {
        double[] shares = [0.25, 0.5, 1];
        for (var seed = 0; seed < 6; seed++)
        {
            var random = new Random(seed);
            var gpus = random.Next(2, 7);
            var ds = Dataset.Range(1_500, new Plan.ReadOptions { BlockRows = 50 });
            var stages = random.Next(1, 4);
            for (var s = 0; s < stages; s++)
            {
                var share = shares[random.Next(shares.Length)];
                var max = random.Next(1, 7);
                ds = ds.MapBatches(() => new SimulateProcessor(new SimulateOptions(PerRowMs: 0.02)), "simulate",
                    new MapBatchesOptions { Name = $"s{s}", Pool = new PoolSize(1, max), Resources = new ResourceRequest(Gpus: share), MaxConcurrency = random.Next(1, 3) });
            }
            var sink = new MemorySink();
            var stats = await ds.WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(gpus) });
            Assert.Equal(1_500, sink.Rows);
            Assert.Equal(Enumerable.Range(0, 1_500).Select(i => (long)i), sink.Ids.Order());
            Assert.All(stats.PeakDeviceAllocation, u => Assert.True(u <= 1 + 1e-9, $"seed {seed}: device allocated {u}"));
        }
    }
}
