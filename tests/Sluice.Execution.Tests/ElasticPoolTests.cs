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

    /// <summary>
    /// A fast stage (0.25 ms/row) feeding a slow one (1 ms/row), both on pools (1, 8) of the same 8 simulated GPUs,
    /// with the reader feeding the fast one first. Which stage holds how many GPUs follows measured cost per row,
    /// so it is not asserted here: the split is a PoolBalancer decision (tested on its values with the balancer) and
    /// its effect is measured by the benchmark <c>Sluice.Bench pools</c> (autoscaled vs the best static split, ratio on
    /// its last line). Asserted: what no timing can change.
    /// </summary>
    [Fact]
    public async Task WriteAsync_FastThenSlowStageSharingSimulatedGpus_EveryRowOnceNoDeviceOverCommittedPoolsWithinMax()
    {
        var ds = Dataset.Range(16_000, new Plan.ReadOptions { BlockRows = 32 }, tasks: 8)
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(PerRowMs: 0.25)), "simulate", new MapBatchesOptions { Name = "A", Pool = new PoolSize(1, 8), Resources = new ResourceRequest(Gpus: 1) })
            .MapBatches(() => new SimulateProcessor(new SimulateOptions(PerRowMs: 1)), "simulate", new MapBatchesOptions { Name = "B", Pool = new PoolSize(1, 8), Resources = new ResourceRequest(Gpus: 1) });
        var sink = new MemorySink();

        var stats = await ds.WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(8) });

        Assert.Equal(Enumerable.Range(0, 16_000).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(8, stats.PeakDeviceAllocation.Count);
        Assert.All(stats.PeakDeviceAllocation, u => Assert.True(u <= 1 + 1e-9, $"a device was allocated {u}"));
        Assert.All(stats.Operators.Where(o => o.Kind == "actors"), o => Assert.InRange(o.PeakActors, 1, 8));
        Assert.All(stats.Operators.Where(o => o.Kind == "actors"), o => Assert.Equal(0, o.ActorsReady)); // all released at the end
        Assert.Equal(8 * 63, stats.Operators.Single(o => o.Name == "B").TasksDone); // 8 read tasks of 2,000 rows: 62 blocks of 32 and one of 16 each
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
