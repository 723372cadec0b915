using System.Collections.Concurrent;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// Issue 10 item 1, at the actor pool: a block is cut into batch-aligned slices when more actors are free than blocks
/// wait (so one large block keeps every actor busy), small blocks are coalesced into full batches when blocks wait
/// for every actor, and slices keep their lineage: each is written once under its own key, a block counts as committed
/// once all its slices are, a resume sends on only the slices still owed, and ordered output stays in order.
/// </summary>
public sealed class BlockSlicingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static ExecutionOptions Node(int cpus = 8) => new() { Resources = new NodeResources(cpus, 0, 1L << 30) };

    [Fact]
    public void Plan_SpreadsWholeBatches_OnlyTheLastSliceEndsOnAPartialBatch()
    {
        Assert.Equal([(0, 32), (32, 32), (64, 32), (96, 4)], BlockSlice.Plan(100, 4, 32));
        Assert.Equal([(0, 64), (64, 32), (96, 4)], BlockSlice.Plan(100, 3, 32));
        Assert.Equal([(0, 5), (5, 5)], BlockSlice.Plan(10, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlockSlice.Plan(100, 5, 32)); // 4 batches, not 5 slices
    }

    [Fact]
    public void SliceKey_RoundTrips_AndAWholeBlockKeyIsNoSlice()
    {
        var lineage = new BlockLineage(3, "docs/a.txt@0+4096#x", 7, 120, new BlockSlice(2, 1, 4));
        Assert.True(Datasink.TryParseSliceKey(Datasink.BlockKey(lineage), out var task, out var seq, out var slice));
        Assert.Equal(("docs/a.txt@0+4096#x", 7, new BlockSlice(2, 1, 4)), (task, seq, slice));
        Assert.False(Datasink.TryParseSliceKey(Datasink.BlockKey(lineage with { Slice = null }), out _, out _, out _));
        Assert.NotEqual(lineage.Key, (lineage with { Slice = new BlockSlice(2, 2, 4) }).Key);
    }

    [Fact]
    public async Task OneBlock_FourIdleActors_IsCutInBatchAlignedSlicesThatEveryActorRuns()
    {
        var seen = new ConcurrentBag<(int Actor, int Rows)>();
        var ds = Dataset.Range(64, new ReadOptions { BlockRows = 64 }, tasks: 1)
            .MapBatches(() => new RecordingProcessor(seen, delayMs: 40), nameof(RecordingProcessor),
                new MapBatchesOptions { Name = "model", BatchSize = 8, Pool = new PoolSize(4, 4), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        var stats = await ds.WriteAsync(sink, Node()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 64).Select(i => (long)i), sink.Ids.Order()); // MemorySink refuses a key written twice
        Assert.Equal(4, sink.Blocks); // four slices, each under its own key
        Assert.Equal(1, stats.Operators.Single(o => o.Name == "model").BlocksSliced);
        Assert.Equal(4, seen.Select(s => s.Actor).Distinct().Count());
        Assert.All(seen, s => Assert.Equal(8, s.Rows)); // whole batches only
        Assert.Single(sink.CompletedTasks); // the block counted as committed once its four slices were
    }

    [Fact]
    public async Task ManySmallBlocks_OneBusyActor_AreCoalescedIntoFullBatches_EachWrittenUnderItsOwnLineage()
    {
        var seen = new ConcurrentBag<(int Actor, int Rows)>();
        var ds = Dataset.Range(96, new ReadOptions { BlockRows = 3 }, tasks: 1)
            .MapBatches(() => new RecordingProcessor(seen, delayMs: 20), nameof(RecordingProcessor),
                new MapBatchesOptions { Name = "model", BatchSize = 12, Pool = new PoolSize(1, 1), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        var stats = await ds.WriteAsync(sink, Node()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 96).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(32, sink.Blocks); // one output block per input block
        Assert.True(stats.Operators.Single(o => o.Name == "model").BlocksCoalesced > 0);
        Assert.Contains(seen, s => s.Rows == 12); // four blocks of 3 in one batch
        Assert.All(sink.Batches, b => AssertTagged(b));
        Assert.Single(sink.CompletedTasks);
    }

    [Fact]
    public async Task CoalescedBlocks_StageDropsRows_EachBlockRunsOnItsOwnAndKeepsItsRows()
    {
        var ds = Dataset.Range(96, new ReadOptions { BlockRows = 3 }, tasks: 1)
            .MapBatches(() => new DropOddProcessor(delayMs: 10), nameof(DropOddProcessor),
                new MapBatchesOptions { Name = "filter", BatchSize = 12, Pool = new PoolSize(1, 1), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });
        var sink = new MemorySink();

        await ds.WriteAsync(sink, Node()).WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 48).Select(i => 2L * i), sink.Ids.Order());
        Assert.Equal(32, sink.Blocks);
        Assert.All(sink.BlocksByKey, kv => Assert.All(((Int64Array)kv.Value.Batch.Column("id")).Values.ToArray(),
            id => Assert.InRange(id, kv.Value.Lineage.FirstRow, kv.Value.Lineage.FirstRow + 2))); // each block holds its own rows
    }

    [Fact]
    public async Task Resume_TwoOfFourSlicesCommitted_OnlyTheOthersRunAndTheBlockCountsAsCommitted()
    {
        var task = "range[0..64)";
        var committed = new[] { 0, 2 }.Select(i => Datasink.BlockKey(new BlockLineage(0, task, 0, 0, new BlockSlice(1, i, 4)))).ToHashSet();
        var sink = new MemorySink(new SinkState(new HashSet<string>(), committed));
        var seen = new ConcurrentBag<(int Actor, int Rows)>();
        var ds = Dataset.Range(64, new ReadOptions { BlockRows = 64 }, tasks: 1)
            .MapBatches(() => new RecordingProcessor(seen, delayMs: 0), nameof(RecordingProcessor),
                new MapBatchesOptions { Name = "model", BatchSize = 8, Pool = new PoolSize(1, 1), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });

        await ds.WriteAsync(sink, Node() with { WriteMode = WriteMode.Resume }).WaitAsync(Limit);

        // Plan(64, 4, 8): slices of 16 rows; 1 and 3 were owed.
        Assert.Equal(Enumerable.Range(16, 16).Concat(Enumerable.Range(48, 16)).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(32, seen.Sum(s => s.Rows)); // the committed slices never reached the stage
        Assert.Equal([task], sink.CompletedTasks);
        Assert.True(sink.Completed);
    }

    [Fact]
    public async Task Resume_EverySliceCommitted_TheBlockGoesNoFurther()
    {
        var task = "range[0..64)";
        var committed = Enumerable.Range(0, 4).Select(i => Datasink.BlockKey(new BlockLineage(0, task, 0, 0, new BlockSlice(1, i, 4)))).ToHashSet();
        var sink = new MemorySink(new SinkState(new HashSet<string>(), committed));
        var seen = new ConcurrentBag<(int Actor, int Rows)>();
        var ds = Dataset.Range(64, new ReadOptions { BlockRows = 64 }, tasks: 1)
            .MapBatches(() => new RecordingProcessor(seen, delayMs: 0), nameof(RecordingProcessor),
                new MapBatchesOptions { Name = "model", BatchSize = 8, Pool = new PoolSize(1, 1), Resources = new ResourceRequest(Cpus: 1) });

        await ds.WriteAsync(sink, Node() with { WriteMode = WriteMode.Resume }).WaitAsync(Limit);

        Assert.Empty(seen);
        Assert.Equal(0, sink.Rows);
        Assert.Equal([task], sink.CompletedTasks);
    }

    [Fact]
    public async Task PreserveOrder_SlicesFinishingOutOfOrder_RowsComeOutInInputOrder()
    {
        var seen = new ConcurrentBag<(int Actor, int Rows)>();
        // Earlier rows take longer: the slices of each block finish in reverse.
        var ds = Dataset.Range(256, new ReadOptions { BlockRows = 128 }, tasks: 1)
            .MapBatches(() => new RecordingProcessor(seen, delayMs: 0, slowerForLowIds: true), nameof(RecordingProcessor),
                new MapBatchesOptions { Name = "model", BatchSize = 16, Pool = new PoolSize(4, 4), MaxConcurrency = 1, Resources = new ResourceRequest(Cpus: 1) });
        var ids = new List<long>();

        await foreach (var batch in ds.IterateBatchesAsync(Node() with { PreserveOrder = true }).WithCancellation(new CancellationTokenSource(Limit).Token))
            ids.AddRange(((Int64Array)batch.Column("id")).Values.ToArray());

        Assert.Equal(Enumerable.Range(0, 256).Select(i => (long)i), ids);
        Assert.True(seen.Select(s => s.Actor).Distinct().Count() >= 2);
    }

    private static void AssertTagged(RecordBatch batch)
    {
        var ids = (Int64Array)batch.Column("id");
        var triple = (Int64Array)batch.Column("triple");
        for (var i = 0; i < batch.Length; i++) Assert.Equal(ids.GetValue(i)!.Value * 3 + 1, triple.GetValue(i));
    }

    /// <summary>Adds <c>triple = 3 id + 1</c> and records each call's actor and rows; waits <c>delayMs</c> per call (more for low ids when asked).</summary>
    private sealed class RecordingProcessor(ConcurrentBag<(int Actor, int Rows)> seen, int delayMs, bool slowerForLowIds = false) : IBatchProcessor
    {
        private int _actor;

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
        {
            _actor = context.ActorIndex;
            return ValueTask.CompletedTask;
        }

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            seen.Add((_actor, batch.Length));
            var ids = (Int64Array)batch.Column("id");
            var delay = slowerForLowIds ? (int)(128 - ids.GetValue(0)!.Value % 128) / 4 : delayMs;
            if (delay > 0) await Task.Delay(delay, cancellationToken);
            var b = new Int64Array.Builder();
            for (var i = 0; i < ids.Length; i++) b.Append(ids.GetValue(i)!.Value * 3 + 1);
            return ArrowBatches.WithColumn(batch, new Field("triple", Int64Type.Default, false), b.Build());
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Keeps even ids only: a stage that changes the row count of its batches.</summary>
    private sealed class DropOddProcessor(int delayMs) : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            await Task.Delay(delayMs, cancellationToken);
            var ids = (Int64Array)batch.Column("id");
            var keep = new bool[ids.Length];
            for (var i = 0; i < keep.Length; i++) keep[i] = ids.GetValue(i)!.Value % 2 == 0;
            return ArrowBatches.Filter(batch, keep);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
