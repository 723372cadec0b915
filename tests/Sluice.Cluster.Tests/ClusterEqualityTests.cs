using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;

namespace Sluice.Cluster.Tests;

/// <summary>A job's output on 3 worker processes equals its output in embedded mode, row by row.</summary>
[Collection(OwnClusterCollection.Name)]
public sealed class ClusterEqualityTests
{
    private const long Rows = 6000;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    private static readonly Field Check = new("check", Int64Type.Default, nullable: false);

    [Fact]
    public async Task SameJob_On3Workers_WritesExactlyTheEmbeddedOutput()
    {
        // Range → model on simulated GPUs → annotate (pid) → a function on the driver (its input fetched from the workers) → Parquet.
        static Dataset Job() => SimulatedJob.Build(Rows, blockRows: 100, perRowMs: 1, new PoolSize(1, 6), new PoolSize(1, 3))
            .MapBatches(batch =>
            {
                var ids = (Int64Array)batch.Column("id");
                var check = new Int64Array.Builder().Reserve(batch.Length);
                for (var i = 0; i < batch.Length; i++) check.Append(ids.GetValue(i)!.Value * 31 + 7);
                return ArrowBatches.WithColumn(batch, Check, check.Build());
            }, new MapBatchesOptions { Name = "check" });

        var embeddedDir = SimulatedJob.TempDir("embedded");
        var clusterDir = SimulatedJob.TempDir("cluster3");
        try
        {
            // Embedded: one process with what the 3 workers offer together (3 cpus, 6 simulated GPUs).
            var embedded = new ExecutionOptions { Resources = new NodeResources(3, 0, 6L << 30).WithSimulatedGpus(6), WriteMode = WriteMode.Overwrite };
            await Job().WriteAsync(Sinks.Parquet(embeddedDir), embedded).WaitAsync(Limit);

            await using var cluster = await OwnCluster.StartAsync(3, "--cpus", "1", "--sim-gpus", "2", "--memory", "2GiB");
            var log = new CollectingLogger();
            try
            {
                await Job().WriteAsync(Sinks.Parquet(clusterDir), new ExecutionOptions { Runtime = cluster.Runtime, WriteMode = WriteMode.Overwrite, LoggerFactory = log })
                    .WaitAsync(Limit);
            }
            catch (Exception e)
            {
                Assert.Fail($"the job failed on the cluster: {e}{Environment.NewLine}executor log:{Environment.NewLine}{log.Tail()}{Environment.NewLine}{cluster.WorkerOutput()}");
            }

            var expected = await JobOutput.ReadSortedAsync(embeddedDir, "pid");
            var actual = await JobOutput.ReadSortedAsync(clusterDir, "pid");
            Assert.Equal(Rows, expected.Count);
            Assert.Equal(Enumerable.Range(0, (int)Rows).Select(i => (long)i), expected.Select(r => r.Id));
            Assert.Equal($"check={7}", expected[0].Values);
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
                Assert.True(expected[i] == actual[i], $"row {i}: embedded {expected[i]}, on the cluster {actual[i]}");

            // Only pid differs: the process that ran annotate — this one embedded, a worker on the cluster.
            Assert.Equal([Environment.ProcessId], await JobOutput.DistinctInt32Async(embeddedDir, "pid"));
            var pids = await JobOutput.DistinctInt32Async(clusterDir, "pid");
            var workerPids = cluster.Workers.Select(w => w.Pid).ToHashSet();
            Assert.True(pids.IsSubsetOf(workerPids), $"pids on the cluster [{string.Join(", ", pids)}] are not all worker pids [{string.Join(", ", workerPids)}]");
        }
        finally
        {
            foreach (var dir in new[] { embeddedDir, clusterDir })
            {
                try { Directory.Delete(dir, recursive: true); }
                catch (IOException) { }
            }
        }
    }
}
