using Apache.Arrow;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Cluster.Tests;

/// <summary>Jobs on a real cluster: real redis-server, real worker processes, the driver in this process.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterJobTests(ClusterFixture cluster)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Job_SimulatedGpuStageThenProcessor_SameRowsAsEmbeddedAndActorsRanOnWorkers()
    {
        Dataset Job() => Dataset.Range(3000, new ReadOptions { BlockRows = 250 }, tasks: 4)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 2, PerRowMs: 0.01),
                new MapBatchesOptions { Name = "model", Resources = new ResourceRequest(Gpus: 1), Pool = new PoolSize(1, 4) })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Resources = new ResourceRequest(Cpus: 1), Pool = new PoolSize(1, 2) });

        var embedded = await CollectAsync(Job(), ClusterFixture.Embedded()).WaitAsync(Limit);
        var onCluster = await CollectAsync(Job(), cluster.OnCluster()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (long)i), embedded.Ids);
        Assert.Equal(embedded.Ids, onCluster.Ids);
        Assert.All(embedded.Pids, p => Assert.Equal(Environment.ProcessId, p));
        var workerPids = cluster.Workers.Select(w => w.Pid).ToHashSet();
        Assert.All(onCluster.Pids, p => Assert.Contains(p, workerPids));
    }

    [Fact]
    public async Task Job_ProcessorOnCpus_RunsOnWorkerProcessesNotTheDriver()
    {
        var job = Dataset.Range(2000, new ReadOptions { BlockRows = 100 }, tasks: 4)
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Resources = new ResourceRequest(Cpus: 1), Pool = new PoolSize(2, 4) });

        var rows = await CollectAsync(job, cluster.OnCluster()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), rows.Ids);
        var workerPids = cluster.Workers.Select(w => w.Pid).ToHashSet();
        Assert.DoesNotContain(Environment.ProcessId, rows.Pids);
        Assert.All(rows.Pids, p => Assert.Contains(p, workerPids));
    }

    [Fact]
    public async Task Job_LambdaProcessor_RefusedWithTheReason()
    {
        var job = Dataset.Range(100)
            .MapBatches(() => new AnnotateProcessor(), "lambda_stage", new MapBatchesOptions { Resources = new ResourceRequest(Cpus: 1) });

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => CollectAsync(job, cluster.OnCluster()).WaitAsync(Limit));

        Assert.Contains("made by a lambda", e.Message + e.InnerException?.Message);
        Assert.Contains("MapBatches<T>()", e.Message + e.InnerException?.Message);
    }

    private static async Task<(List<long> Ids, List<int> Pids)> CollectAsync(Dataset job, ExecutionOptions options)
    {
        var ids = new List<long>();
        var pids = new List<int>();
        await foreach (var batch in job.IterateBatchesAsync(options))
        {
            ids.AddRange(((Int64Array)batch.Column("id")).Values.ToArray());
            if (batch.Schema.GetFieldIndex("pid") >= 0) pids.AddRange(((Int32Array)batch.Column("pid")).Values.ToArray());
        }
        return (ids, pids);
    }
}
