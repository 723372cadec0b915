using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// <see cref="ExecutionOptions.PreserveOrder"/>: blocks made to finish out of order by gates the test
/// opens (no sleeps) still come out in input order (read task, then block), written blocks keep their
/// place by lineage, and a budget of a few blocks does not stall the reorder buffer.
/// </summary>
public sealed class OrderedOutputTests
{
    /// <summary>A hang must fail the test, not the run; nothing here waits on time otherwise.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static readonly ExecutionOptions Node = new() { Resources = new NodeResources(4, 0, 1L << 30), PreserveOrder = true };

    [Fact]
    public async Task IterateBatchesAsync_BlocksFinishInReverse_YieldsRowsInInputOrder()
    {
        // One read task of 6 blocks: blocks 0, 1, 2 go to the three actors in read order and are held
        // there; the test lets 2 finish, then 1, then 0. Blocks 3..5 are not held.
        var gates = new BlockGates(blocks: 6, blockRows: 100, held: [0, 1, 2]);
        var ds = Dataset.Range(600, new ReadOptions { BlockRows = 100 }, tasks: 1)
            .MapBatches(() => new GatedProcessor(gates), nameof(GatedProcessor), new MapBatchesOptions { Name = "gated", Pool = new PoolSize(3, 3), MaxConcurrency = 1 });

        var consumer = CollectAsync(ds, Node);
        await Task.WhenAll(gates.Entered(0), gates.Entered(1), gates.Entered(2)).WaitAsync(Limit);
        foreach (var block in new[] { 2, 1, 0 })
        {
            gates.Release(block);
            await gates.Finished(block).WaitAsync(Limit);
        }
        var ids = await consumer.WaitAsync(Limit);

        Assert.Equal([2, 1, 0], gates.FinishOrder.Where(b => b < 3)); // they did finish out of order
        Assert.Equal(Enumerable.Range(0, 600).Select(i => (long)i), ids);
    }

    [Fact]
    public async Task TakeAsync_FirstBlockFinishesLast_ReturnsTheFirstRowsInOrder()
    {
        var gates = new BlockGates(blocks: 4, blockRows: 50, held: [0]);
        var ds = Dataset.Range(200, new ReadOptions { BlockRows = 50 }, tasks: 1)
            .MapBatches(() => new GatedProcessor(gates), nameof(GatedProcessor), new MapBatchesOptions { Name = "gated", Pool = new PoolSize(2, 2), MaxConcurrency = 1 });

        var take = ds.TakeAsync(120, Node with { PreserveOrder = false }); // TakeAsync orders whatever the options say
        await gates.Entered(0).WaitAsync(Limit);
        await gates.Finished(1).WaitAsync(Limit);
        gates.Release(0);
        var rows = await take.WaitAsync(Limit);

        Assert.Equal(1, gates.FinishOrder.First());
        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), rows.Select(r => (long)r["id"]!));
    }

    /// <summary>
    /// A sink is written as blocks finish, so <see cref="ExecutionOptions.PreserveOrder"/> does not hold writes back:
    /// each block carries its lineage (read task, seq), which file sinks name their parts by (<c>part-{task}-{seq}</c>),
    /// so the written output read in lineage order is in input order however late a block finished.
    /// </summary>
    [Fact]
    public async Task WriteAsync_FirstBlockFinishesLast_BlocksInLineageOrderHoldRowsInInputOrder()
    {
        var gates = new BlockGates(blocks: 6, blockRows: 100, held: [0]);
        var sink = new OrderRecordingSink();
        var ds = Dataset.Range(600, new ReadOptions { BlockRows = 100 }, tasks: 1)
            .MapBatches(() => new GatedProcessor(gates), nameof(GatedProcessor), new MapBatchesOptions { Name = "gated", Pool = new PoolSize(2, 2), MaxConcurrency = 1 });

        var job = ds.WriteAsync(sink, Node);
        await gates.Entered(0).WaitAsync(Limit);
        await sink.Written(5).WaitAsync(Limit); // blocks 1..5, through the other actor
        gates.Release(0);
        await job.WaitAsync(Limit);

        Assert.Equal([0, 1, 2, 3, 4, 5], sink.WriteOrder.Select(b => b.Lineage.Seq).Order()); // each block written once
        Assert.Equal(0, sink.WriteOrder[^1].Lineage.Seq); // block 0 was written last
        var inLineageOrder = sink.WriteOrder.OrderBy(b => b.Lineage.TaskIndex).ThenBy(b => b.Lineage.Seq);
        Assert.Equal(Enumerable.Range(0, 600).Select(i => (long)i), inLineageOrder.SelectMany(b => ((Int64Array)b.Batch.Column("id")).Values.ToArray()));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => i * 100L), inLineageOrder.Select(b => b.Lineage.FirstRow));
    }

    /// <summary>
    /// The second read task's blocks run while the first task's reader is held at its gate after one block, so
    /// they wait in the reorder buffer; a budget of a few blocks must still let the first task's blocks through (issue 8:
    /// "preserve_order with a small memory budget completes").
    /// </summary>
    [Fact]
    public async Task IterateBatchesAsync_BudgetOfAFewBlocksAndLaterTaskFirst_CompletesInInputOrder()
    {
        const int BlockRows = 100, BlocksPerTask = 20;
        var source = new TwoTaskSource(BlocksPerTask, BlockRows);
        var passed = new PassCounter();
        var ds = Dataset.Read(source, new ReadOptions { BlockRows = BlockRows })
            .MapBatches(() => new CountingPassProcessor(passed), nameof(CountingPassProcessor), new MapBatchesOptions { Name = "pass", Pool = new PoolSize(2, 2), MaxConcurrency = 1 });
        // One block is 100 int64 ids, about 800 B: the budget holds about ten, each operator's reservation two.
        var options = Node with { MemoryBudgetBytes = 8 * 1024 };

        var consumer = CollectAsync(ds, options);
        await passed.AtLeast(3).WaitAsync(Limit); // the first task's block 0 and two of the later task's blocks: those wait for order
        source.FirstTaskGate.SetResult();
        var ids = await consumer.WaitAsync(Limit);

        Assert.Equal(Enumerable.Range(0, 2 * BlocksPerTask * BlockRows).Select(i => (long)i), ids);
    }

    private static Task<List<long>> CollectAsync(Dataset ds, ExecutionOptions options) => Task.Run(async () =>
    {
        var ids = new List<long>();
        await foreach (var batch in ds.IterateBatchesAsync(options)) ids.AddRange(((Int64Array)batch.Column("id")).Values.ToArray());
        return ids;
    });

    /// <summary>One test's gates, one per block (block = first id / rows per block): the test sees a block enter and finish, and opens held blocks.</summary>
    private sealed class BlockGates
    {
        private readonly TaskCompletionSource[] _entered;
        private readonly TaskCompletionSource[] _release;
        private readonly TaskCompletionSource[] _finished;

        public BlockGates(int blocks, int blockRows, HashSet<int> held)
        {
            BlockRows = blockRows;
            _entered = Make(blocks);
            _release = Make(blocks);
            _finished = Make(blocks);
            for (var b = 0; b < blocks; b++)
            {
                if (!held.Contains(b)) _release[b].SetResult();
            }
        }

        public int BlockRows { get; }

        public ConcurrentQueue<int> FinishOrder { get; } = new();

        public Task Entered(int block) => _entered[block].Task;

        public Task Finished(int block) => _finished[block].Task;

        public void Release(int block) => _release[block].TrySetResult();

        public async Task PassAsync(int block, CancellationToken ct)
        {
            _entered[block].TrySetResult();
            await _release[block].Task.WaitAsync(ct).ConfigureAwait(false);
            FinishOrder.Enqueue(block);
            _finished[block].TrySetResult();
        }

        private static TaskCompletionSource[] Make(int n) =>
            Enumerable.Range(0, n).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
    }

    private sealed class GatedProcessor(BlockGates gates) : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            var block = (int)(((Int64Array)batch.Column("id")).GetValue(0)!.Value / gates.BlockRows);
            await gates.PassAsync(block, cancellationToken);
            return batch;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Records the blocks in the order they were written, and lets a test wait for a count.</summary>
    private sealed class OrderRecordingSink : Datasink
    {
        private readonly Lock _lock = new();
        private readonly List<Sluice.Blocks.Block> _written = [];
        private readonly Dictionary<int, TaskCompletionSource> _waiters = [];

        public override string Name => "order";

        public IReadOnlyList<Sluice.Blocks.Block> WriteOrder
        {
            get
            {
                lock (_lock) return [.. _written];
            }
        }

        public Task Written(int count)
        {
            lock (_lock)
            {
                if (_written.Count >= count) return Task.CompletedTask;
                if (!_waiters.TryGetValue(count, out var w)) _waiters[count] = w = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return w.Task;
            }
        }

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask WriteAsync(Sluice.Blocks.Block block, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _written.Add(block);
                foreach (var (count, w) in _waiters)
                {
                    if (count <= _written.Count) w.TrySetResult();
                }
            }
            return ValueTask.CompletedTask;
        }

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>Counts the batches that went through, and lets a test wait for a count.</summary>
    private sealed class PassCounter
    {
        private readonly Lock _lock = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
        private int _passed;

        public Task AtLeast(int count)
        {
            lock (_lock)
            {
                if (_passed >= count) return Task.CompletedTask;
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, reached));
                return reached.Task;
            }
        }

        public void Passed()
        {
            lock (_lock)
            {
                _passed++;
                foreach (var w in _waiters.Where(w => w.Count <= _passed)) w.Reached.TrySetResult();
            }
        }
    }

    private sealed class CountingPassProcessor(PassCounter counter) : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            counter.Passed();
            return ValueTask.FromResult(batch);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// Two read tasks of ids in order; the first task reads one block, then nothing until the test opens its
    /// gate. (Its first block comes at once: until a read's block size is known, reads go one block at a time.)
    /// </summary>
    private sealed class TwoTaskSource(int blocksPerTask, int blockRows) : Datasource
    {
        public TaskCompletionSource FirstTaskGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override string Name => "two-tasks";

        public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<ReadTask>>([new Part(this, 0), new Part(this, 1)]);

        private sealed class Part(TwoTaskSource source, int index) : ReadTask
        {
            public override string Id => $"part-{index}";

            public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
            {
                long id = (long)index * source.BlocksPerTask * source.BlockRows;
                for (var b = 0; b < source.BlocksPerTask; b++)
                {
                    if (index == 0 && b == 1) await source.FirstTaskGate.Task.WaitAsync(cancellationToken);
                    var rows = Enumerable.Range(0, source.BlockRows).Select(_ => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = id++ }).ToList();
                    yield return Rows.ToBatch(rows);
                }
            }
        }

        private int BlocksPerTask => blocksPerTask;

        private int BlockRows => blockRows;
    }
}
