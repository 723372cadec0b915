using Apache.Arrow;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Plan;
using Sluice.TestOps;

namespace Sluice.Cluster.Tests;

/// <summary>
/// <c>sluice worker --ops-assembly PATH</c>: a worker builds the processors that the named assembly's modules register,
/// and only those beyond the built-in ones. Sluice.TestOps.dll sits beside sluice.dll but is not in its dependencies:
/// only the option makes a worker load it.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class OpsAssemblyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    private static string OpsDll => typeof(TestOpsModule).Assembly.Location;

    [Fact]
    public async Task Worker_WithOpsAssembly_RunsItsProcessorOnTheCluster()
    {
        await using var cluster = await OwnCluster.StartAsync(1, "--cpus", "2", "--memory", "2GiB", "--ops-assembly", OpsDll);
        var ds = Dataset.Range(500, new ReadOptions { BlockRows = 100 })
            .MapBatches<TagProcessor, TagOptions>(new TagOptions("from-module"),
                new MapBatchesOptions { Name = "tag", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Cpus: 1) });

        var rows = 0;
        var pids = new HashSet<int>();
        using var timeout = new CancellationTokenSource(Limit);
        await foreach (var batch in ds.IterateBatchesAsync(new ExecutionOptions { Runtime = cluster.Runtime }, timeout.Token))
        {
            rows += batch.Length;
            var tags = (StringArray)batch.Column("tag");
            for (var i = 0; i < batch.Length; i++) Assert.Equal("from-module", tags.GetString(i));
            foreach (var p in ((Int32Array)batch.Column("pid")).Values) pids.Add(p);
        }

        Assert.Equal(500, rows);
        Assert.Equal([cluster.Workers[0].Pid], pids);
    }

    /// <summary>The user's op, registered by a module of its assembly, named in YAML and run on a worker given the same assembly.</summary>
    [Fact]
    public async Task Spec_OpFromAnOpsAssembly_RunsFromYamlOnTheWorkerGivenTheSameAssembly()
    {
        await using var cluster = await OwnCluster.StartAsync(1, "--cpus", "2", "--memory", "2GiB", "--ops-assembly", OpsDll);
        var registry = Sluice.Jobs.JobRegistry.CreateDefault().AddModules(typeof(TestJobModule).Assembly);
        var spec = Sluice.Jobs.JobSpecParser.Parse("""
            read: { format: range, count: 300, block_rows: 100 }
            stages:
              - { name: tag, op: tag, tag: from-yaml, pool: { min: 1, max: 2 }, resources: { cpus: 1 } }
            write: { format: jsonl, path: unused }
            """, "tag.yaml", new Sluice.Jobs.SpecOptions { Registry = registry, OnCluster = true });

        var tags = new List<string>();
        var pids = new HashSet<int>();
        using var timeout = new CancellationTokenSource(Limit);
        await foreach (var batch in spec.Dataset().IterateBatchesAsync(new ExecutionOptions { Runtime = cluster.Runtime }, timeout.Token))
        {
            var column = (StringArray)batch.Column("tag");
            for (var i = 0; i < batch.Length; i++) tags.Add(column.GetString(i));
            foreach (var p in ((Int32Array)batch.Column("pid")).Values) pids.Add(p);
        }

        Assert.Equal(300, tags.Count);
        Assert.All(tags, t => Assert.Equal("from-yaml", t));
        Assert.Equal([cluster.Workers[0].Pid], pids);
    }

    [Fact]
    public async Task Worker_WithoutOpsAssembly_RefusesItsProcessor()
    {
        await using var cluster = await OwnCluster.StartAsync(1, "--cpus", "2", "--memory", "2GiB");
        var ds = Dataset.Range(100, new ReadOptions { BlockRows = 100 })
            .MapBatches<TagProcessor, TagOptions>(new TagOptions("x"), new MapBatchesOptions { Name = "tag", Resources = new ResourceRequest(Cpus: 1) });

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => ds.CountAsync(new ExecutionOptions { Runtime = cluster.Runtime }).WaitAsync(Limit));

        Assert.Contains("'Sluice.TestOps.TagProcessor' is not registered on this node", e.Message);
    }

    [Fact]
    public async Task Worker_OpsAssemblyMissing_ExitsNamingThePath()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.dll");
        using var redis = await RedisServer.StartAsync();

        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => WorkerProcess.StartAsync(redis.Uri, "w-missing", "--ops-assembly", missing));

        Assert.Contains($"--ops-assembly: '{missing}' does not exist", e.Message);
    }

    [Fact]
    public async Task Worker_OpsAssemblyNotAnAssembly_ExitsSayingSo()
    {
        var notDll = Path.Combine(Path.GetTempPath(), $"not-an-assembly-{Guid.NewGuid():N}.dll");
        await File.WriteAllTextAsync(notDll, "plain text, not a PE image");
        try
        {
            using var redis = await RedisServer.StartAsync();

            var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => WorkerProcess.StartAsync(redis.Uri, "w-notdll", "--ops-assembly", notDll));

            Assert.Contains($"--ops-assembly: '{notDll}' is not a .NET assembly", e.Message);
        }
        finally
        {
            File.Delete(notDll);
        }
    }
}
