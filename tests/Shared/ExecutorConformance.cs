using System.Collections.Concurrent;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Simulation;
using Sluice.Execution.Stats;
using Sluice.Plan;

namespace Sluice.Tests.Shared;

/// <summary>
/// The executor's behaviour, once for every worker runtime (DESIGN.md §7; issue 4 item 3): each
/// runtime derives this suite and says only how to reach it. Stages use product processors
/// (<see cref="AnnotateProcessor"/>, <see cref="SimulateProcessor"/>): worker processes build
/// processors by type name and cannot load types of a test assembly.
/// </summary>
/// <remarks>
/// Every runtime under test offers at least 4 cpus and 4 simulated GPUs to actors, with nodes of at
/// least 2 cpus and 2 simulated GPUs each, so the pool sizes below fit on any of them.
/// </remarks>
public abstract partial class ExecutorConformance
{
    /// <summary>No scenario takes seconds; a hang must fail the test, not the whole run.</summary>
    protected static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>How to run a job on the runtime under test.</summary>
    protected abstract ExecutionOptions Options();

    /// <summary>The processes the actors may run in (the <c>pid</c> column of <see cref="AnnotateProcessor"/>).</summary>
    protected abstract IReadOnlySet<int> ActorProcesses { get; }

    /// <summary>Whether the runtime runs processors made by a lambda (in-process only); a cluster refuses them with the reason.</summary>
    protected virtual bool RunsProcessorsMadeByLambdas => true;

    [Fact]
    public async Task WriteAsync_SeveralReadTasksThroughActorPools_WritesEveryRowExactlyOnce()
    {
        var ds = Dataset.Range(8_000, new ReadOptions { BlockRows = 100 }, tasks: 4)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 0.5, PerRowMs: 0),
                new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 4), Resources = new ResourceRequest(Gpus: 1) })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Pool = new PoolSize(2, 2), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new CollectingSink();

        await ds.WriteAsync(sink, Options()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 8_000).Select(i => (long)i), sink.Ids.Order());
        Assert.All(sink.Pids, p => Assert.Contains(p, ActorProcesses));
        Assert.Equal(4, sink.CompletedTasks.Count);
        Assert.True(sink.Completed);
    }

    [Fact]
    public async Task IterateBatchesAsync_PreserveOrder_YieldsRowsInInputOrderAcrossTasksAndActors()
    {
        var ds = Dataset.Range(20_000, new ReadOptions { BlockRows = 250 }, tasks: 7)
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Pool = new PoolSize(3, 3), MaxConcurrency = 3, Resources = new ResourceRequest(Cpus: 1) });
        long expected = 0;
        using var timeout = new CancellationTokenSource(Limit);

        await foreach (var batch in ds.IterateBatchesAsync(Options() with { PreserveOrder = true }, timeout.Token))
        {
            var ids = (Int64Array)batch.Column("id");
            for (var i = 0; i < ids.Length; i++) Assert.Equal(expected++, ids.GetValue(i));
            Assert.All(((Int32Array)batch.Column("pid")).Values.ToArray(), p => Assert.Contains(p, ActorProcesses));
        }

        Assert.Equal(20_000, expected);
    }

    [Fact]
    public async Task TakeAsync_ThroughActorPool_ReturnsTheFirstRowsInOrder()
    {
        var ds = Dataset.Range(5_000, new ReadOptions { BlockRows = 100 })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Pool = new PoolSize(2, 2), BatchSize = 30, Resources = new ResourceRequest(Cpus: 1) });

        using var timeout = new CancellationTokenSource(Limit);

        var rows = await ds.TakeAsync(250, Options(), timeout.Token);

        Assert.Equal(Enumerable.Range(0, 250).Select(i => (long)i), rows.Select(r => (long)r["id"]!));
        Assert.All(rows, r => Assert.Contains((int)r["pid"]!, ActorProcesses));
    }

    [Fact]
    public async Task WriteAsync_DatasetFarLargerThanBudget_BlocksInFlightNeverExceedTheBudget()
    {
        const long budget = 1L << 20; // 1 MiB
        // 200 blocks of 10,000 int64 ids (~80 KB each): the reader alone produces ~16 MB, 16x the budget.
        var ds = Dataset.Range(2_000_000, new ReadOptions { BlockRows = 10_000 }, tasks: 4)
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new CollectingSink();

        var stats = await ds.WriteAsync(sink, Options() with { MemoryBudgetBytes = budget }).WaitAsync(Limit);

        var produced = stats.Operators[0].BytesOut;
        Assert.Equal(2_000_000, sink.Rows);
        Assert.True(produced > 10 * budget, $"produced {produced} bytes, budget {budget}");
        Assert.True(stats.PeakUsedBytes <= budget, $"peak {stats.PeakUsedBytes} > budget {budget}");
        Assert.True(stats.PeakUsedBytes > 0);
    }

    [Fact]
    public async Task WriteAsync_ManyBlocks_StartsEachActorOnceAndReusesIt()
    {
        var ds = Dataset.Range(50_000, new ReadOptions { BlockRows = 100 }, tasks: 4)
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Pool = new PoolSize(3, 3), BatchSize = 25, Resources = new ResourceRequest(Cpus: 1) });
        var sink = new CollectingSink();

        var stats = await ds.WriteAsync(sink, Options()).WaitAsync(Limit);

        Assert.Equal(50_000, sink.Rows);
        var pool = Pool(stats, "annotate");
        Assert.Equal(3, pool.ActorsStarted); // 500 blocks, 2,000 batches: each actor initialized once, never replaced
        // 500 blocks; a block cut into slices while actors were free (at the start, at the end) is one task per slice.
        Assert.InRange(pool.TasksDone, 500, 500 + 3 * pool.BlocksSliced);
        Assert.Equal(0, pool.TaskRetries);
        Assert.All(sink.Pids, p => Assert.Contains(p, ActorProcesses));
    }

    [Fact]
    public async Task WriteAsync_ProcessorMadeByLambda_RunsOnlyWhereTheRuntimeCanBuildIt()
    {
        var ds = Dataset.Range(1_000, new ReadOptions { BlockRows = 100 })
            .MapBatches(() => new AnnotateProcessor(), "lambda", new MapBatchesOptions { Name = "lambda_stage", Resources = new ResourceRequest(Cpus: 1) });
        var sink = new CollectingSink();

        if (RunsProcessorsMadeByLambdas)
        {
            await ds.WriteAsync(sink, Options()).WaitAsync(Limit);
            Assert.Equal(1_000, sink.Rows);
            return;
        }
        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => ds.WriteAsync(sink, Options()).WaitAsync(Limit));
        var message = e.Message + e.InnerException?.Message;
        Assert.Contains("stage 'lambda_stage'", message);
        Assert.Contains("made by a lambda", message);
        Assert.Contains("MapBatches<T>()", message);
        Assert.Equal(0, sink.Rows);
    }

    [Fact]
    public async Task WriteAsync_StageNoNodeCanHost_IsRefusedBeforeTheOutputIsOpened()
    {
        // Every node under test has 2 to 4 GPUs: an actor asking for 5 fits on none.
        var ds = Dataset.Range(1_000, new ReadOptions { BlockRows = 100 })
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 1, PerRowMs: 0),
                new MapBatchesOptions { Name = "huge", Resources = new ResourceRequest(Gpus: 5) });
        var sink = new CollectingSink();

        var e = await Assert.ThrowsAsync<SluiceException>(() => ds.WriteAsync(sink, Options()).WaitAsync(Limit));

        Assert.Contains("the job cannot start", e.Message);
        Assert.Contains("stage 'huge'", e.Message);
        Assert.Contains("5 gpus", e.Message);
        Assert.False(sink.Opened, "the output was opened by a job that could not start");
    }

    [Fact]
    public async Task WriteAsync_BadInputInStage_FailsAtOnceNamingStageAndRows()
    {
        var attempts = 0;
        var ds = Dataset.Range(1_000, new ReadOptions { BlockRows = 100 }, tasks: 1).MapBatches(b =>
        {
            if (((Int64Array)b.Column("id")).GetValue(0) != 300) return b;
            Interlocked.Increment(ref attempts);
            throw new BadInputException("column 'x' is missing");
        }, new MapBatchesOptions { Name = "check", Resources = new ResourceRequest(Cpus: 0.5) })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Resources = new ResourceRequest(Cpus: 1) });

        var e = await Assert.ThrowsAsync<BadInputException>(() => ds.WriteAsync(new CollectingSink(), Options()).WaitAsync(Limit));

        Assert.Contains("stage 'check'", e.Message);
        Assert.Contains("range[0..1000) rows 301–400", e.Message);
        Assert.Contains("column 'x' is missing", e.Message);
        Assert.Equal(1, attempts); // bad input is not retried
    }

    [Fact]
    public async Task WriteAsync_ActorFailsOnOneBlockEveryTry_FailsAfterRetriesNamingStageAndRows()
    {
        // A simulated batch holds its device fixed + per_row x rows ms: -20 + 0.21 x 100 = 1 ms for the
        // full blocks, -17.9 ms for the last block of 10 rows, which the simulated device refuses (a
        // negative delay) — a processor that fails on that block alone, wherever it runs. (Not near
        // -1 ms: Task.Delay reads a delay that truncates to -1 ms as "wait forever".)
        var ds = Dataset.Range(1_010, new ReadOptions { BlockRows = 100 }, tasks: 1)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: -20, PerRowMs: 0.21),
                new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Gpus: 1) });

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => ds.WriteAsync(new CollectingSink(), Options()).WaitAsync(Limit));

        Assert.IsNotType<BadInputException>(e);
        Assert.Contains("stage 'model'", e.Message);
        Assert.Contains("range[0..1010) rows 1001–1010", e.Message);
    }

    [Fact]
    public async Task WriteAsync_BacklogOnSimulatedGpus_ScalesUpByTheBacklogThenReleases()
    {
        // 80 blocks of 5 ms each on one device at a time: the queue builds faster than one actor drains it.
        var ds = Dataset.Range(8_000, new ReadOptions { BlockRows = 100 }, tasks: 4)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 5, PerRowMs: 0),
                new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 4), MaxConcurrency = 1, Resources = new ResourceRequest(Gpus: 1) });
        var sink = new CollectingSink();

        var stats = await ds.WriteAsync(sink, Options()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 8_000).Select(i => (long)i), sink.Ids.Order());
        var pool = Pool(stats, "model");
        Assert.True(pool.ActorsStarted > 1, $"started {pool.ActorsStarted} ({pool.LastScaling})");
        Assert.True(pool.ActorsStarted <= 4, $"started {pool.ActorsStarted}");
        Assert.True(pool.PeakActors > 1, $"peak {pool.PeakActors}");
        Assert.Equal(0, pool.ActorsReady); // all released once the input was exhausted
        Assert.All(stats.PeakDeviceAllocation, u => Assert.True(u <= 1 + 1e-9, $"device allocated {u}"));
    }

    /// <summary>One block, four free actors: cut into slices that actors fetch as views of the one stored block.</summary>
    [Fact]
    public async Task WriteAsync_OneLargeBlockAndFreeActors_IsCutIntoSlicesEachWrittenOnce()
    {
        var ds = Dataset.Range(400, new ReadOptions { BlockRows = 400 }, tasks: 1)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 5, PerRowMs: 0),
                new MapBatchesOptions { Name = "model", BatchSize = 20, Pool = new PoolSize(4, 4), MaxConcurrency = 1, Resources = new ResourceRequest(Gpus: 1) })
            .MapBatches<AnnotateProcessor>(new MapBatchesOptions { Name = "annotate", Pool = new PoolSize(1, 1), Resources = new ResourceRequest(Cpus: 1) });
        var sink = new CollectingSink();

        var stats = await ds.WriteAsync(sink, Options()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), sink.Ids.Order());
        Assert.True(Pool(stats, "model").BlocksSliced >= 1, "the block was not cut");
        Assert.True(sink.Blocks >= 2, $"{sink.Blocks} blocks written: slices are written under keys of their own");
        Assert.Single(sink.CompletedTasks);
    }

    /// <summary>Many small blocks waiting for one busy actor: coalesced into full batches, each block written under its own lineage.</summary>
    [Fact]
    public async Task WriteAsync_SmallBlocksWaitingForABusyActor_AreCoalescedAndEachWrittenOnce()
    {
        var ds = Dataset.Range(300, new ReadOptions { BlockRows = 3 }, tasks: 1)
            .MapBatches<SimulateProcessor, SimulateOptions>(new SimulateOptions(FixedMs: 15, PerRowMs: 0),
                new MapBatchesOptions { Name = "model", BatchSize = 30, Pool = new PoolSize(1, 1), MaxConcurrency = 1, Resources = new ResourceRequest(Gpus: 1) });
        var sink = new CollectingSink();

        var stats = await ds.WriteAsync(sink, Options()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), sink.Ids.Order());
        Assert.True(Pool(stats, "model").BlocksCoalesced > 0, "no block was coalesced");
        Assert.Equal(100, sink.Blocks);
        Assert.Single(sink.CompletedTasks);
    }

    private static OperatorSnapshot Pool(ExecutionSnapshot stats, string name) =>
        stats.Operators.Single(o => o.Name == name && o.Kind == "actors");

    /// <summary>Keeps every block in memory, refusing a block key written twice (the exactly-once check).</summary>
    protected sealed class CollectingSink : Datasink
    {
        private readonly ConcurrentDictionary<string, Block> _blocks = new();

        public override string Name => "conformance";

        public long Rows => _blocks.Values.Sum(b => (long)b.Rows);

        public int Blocks => _blocks.Count;

        public IEnumerable<long> Ids => _blocks.Values.SelectMany(b => ((Int64Array)b.Batch.Column("id")).Values.ToArray());

        public IEnumerable<int> Pids => _blocks.Values.Where(b => b.Batch.Schema.GetFieldIndex("pid") >= 0)
            .SelectMany(b => ((Int32Array)b.Batch.Column("pid")).Values.ToArray());

        public ConcurrentBag<string> CompletedTasks { get; } = [];

        public bool Completed { get; private set; }

        public bool Opened { get; private set; }

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken)
        {
            Opened = true;
            return ValueTask.FromResult(SinkState.Empty);
        }

        public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
        {
            if (!_blocks.TryAdd(BlockKey(block.Lineage), block))
                throw new InvalidOperationException($"block {block.Lineage.TaskId}#{block.Lineage.Seq} written twice");
            return ValueTask.CompletedTask;
        }

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken)
        {
            CompletedTasks.Add(taskId);
            return ValueTask.CompletedTask;
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            Completed = true;
            return ValueTask.CompletedTask;
        }
    }
}
