using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Operators;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

/// <summary>
/// Credits for several blocks: a reader with room in the budget reads on without a loop turn per block, and one
/// without room gets no more than the budget holds. The test is the reader: it takes credits and hands blocks in
/// by hand, and steps the loop, so what each turn granted is counted exactly.
/// </summary>
public sealed class ReaderCreditTests
{
    [Fact]
    public async Task StepAsync_AmpleBudget_ReaderHoldsSeveralCreditsAfterItsFirstBlock()
    {
        var (executor, runtime, stop) = await StartAsync(budget: 1L << 20);
        Assert.True(await executor.StepAsync(stop.Token));
        var reader = runtime.Reader!;
        // Until a block's size is known, one block at a time.
        Assert.Equal(1, await TakeCreditsAsync(reader));
        runtime.Deliver(0);

        Assert.True(await executor.StepAsync(stop.Token));

        Assert.Equal(ReadRunner.CreditsAhead, await TakeCreditsAsync(reader));
        for (var seq = 1; seq <= ReadRunner.CreditsAhead; seq++) runtime.Deliver(seq);
        Assert.True(await executor.StepAsync(stop.Token));
        Assert.Equal(ReadRunner.CreditsAhead, await TakeCreditsAsync(reader));
        await executor.ShutdownAsync(stop, failure: null);
    }

    [Fact]
    public async Task StepAsync_BudgetOfThreeBlocks_ReaderNeverHoldsMoreThanTheBudget()
    {
        var block = ManualReadRuntime.BlockBytes();
        // One producer (the source): its reservation is half the budget, 1.5 blocks; the shared pool the other 1.5.
        var (executor, runtime, stop) = await StartAsync(budget: 3 * block);
        Assert.True(await executor.StepAsync(stop.Token));
        var reader = runtime.Reader!;
        Assert.Equal(1, await TakeCreditsAsync(reader));
        runtime.Deliver(0);

        // Each turn: the output holds every block read (nobody consumes it), so room shrinks by a block per block.
        var credits = new List<int>();
        for (var seq = 1; seq <= 3; seq++)
        {
            Assert.True(await executor.StepAsync(stop.Token));
            var n = await TakeCreditsAsync(reader);
            credits.Add(n);
            for (var i = 0; i < n; i++) runtime.Deliver(seq);
            if (n == 0) break;
        }

        // Read-ahead never borrows the shared pool: one credit at a time, and none once three blocks fill the budget.
        Assert.Equal([1, 1, 0], credits);
        Assert.True(executor.Snapshot.UsedBytes <= 3 * block, $"{executor.Snapshot.UsedBytes} bytes held, budget {3 * block}");
        await executor.ShutdownAsync(stop, failure: null);
    }

    private static async Task<(StreamingExecutor, ManualReadRuntime, CancellationTokenSource)> StartAsync(long budget)
    {
        var runtime = new ManualReadRuntime();
        var ds = Dataset.Read(new GatedSource(before: 1, after: 0, rows: ManualReadRuntime.BlockRows));
        var executor = new StreamingExecutor(ds.Plan, sink: null, new ExecutionOptions
        {
            Resources = new NodeResources(4, 0, 1L << 30),
            Runtime = runtime,
            MemoryBudgetBytes = budget,
            TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(),
        }, collectOutput: true);
        // A bound on a hang, not a wait: every step here has its events ready.
        var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await executor.PrepareAsync(executor.Begin(), stop.Token);
        return (executor, runtime, stop);
    }

    /// <summary>Takes every credit the reader has now, as a reader would before pulling each block; a credit not there is not waited for.</summary>
    private static async Task<int> TakeCreditsAsync(IReadCallbacks reader)
    {
        var taken = 0;
        while (true)
        {
            using var none = new CancellationTokenSource();
            var wait = reader.WaitForCreditAsync(none.Token);
            if (!wait.IsCompleted)
            {
                // Withdraw the waiter, or it would take the next credit granted.
                await none.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wait);
                return taken;
            }
            await wait;
            taken++;
        }
    }

    /// <summary>A runtime whose read task is the test: it keeps the callbacks and never reads by itself.</summary>
    private sealed class ManualReadRuntime : IWorkerRuntime
    {
        public const int BlockRows = 10;

        private readonly LocalWorkerRuntime _inner = new(new NodeResources(4, 0, 1L << 30));
        private long _firstRow;

        public IReadCallbacks? Reader { get; private set; }

        public static long BlockBytes() => new LocalWorkerRuntime(new NodeResources(1, 0, 1L << 30)).Put(MakeBlock(0, 0)).Bytes;

        private static Block MakeBlock(int seq, long firstRow) =>
            new(Sluice.Rows.ToBatch(Enumerable.Range(0, BlockRows).Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = firstRow + i }).ToList()),
                new BlockLineage(0, "gated", seq, firstRow));

        /// <summary>The reader hands in its block <paramref name="seq"/>, as a read task does after taking a credit.</summary>
        public void Deliver(int seq)
        {
            Reader!.OnBlock(_inner.Put(MakeBlock(seq, _firstRow)));
            _firstRow += BlockRows;
        }

        public string NodeId => _inner.NodeId;

        public NodeResources Resources => _inner.Resources;

        public IReadOnlyList<NodeInfo> Nodes => _inner.Nodes;

        public long StoredBytes => _inner.StoredBytes;

        public BlockRef Put(Block block) => _inner.Put(block);

        public ValueTask<Block> GetAsync(BlockRef block, CancellationToken cancellationToken) => _inner.GetAsync(block, cancellationToken);

        public void Free(BlockRef block) => _inner.Free(block);

        public Task<int> RunReadAsync(ReadTask task, int taskIndex, int blockRows, BlockWork? transform, IReadCallbacks callbacks, CancellationToken cancellationToken)
        {
            Reader = callbacks;
            // Ends only with the job's shutdown.
            return Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith<int>(_ => throw new OperationCanceledException(cancellationToken), TaskScheduler.Default);
        }

        public Task<BlockRef> RunTaskAsync(BlockWork work, BlockRef input, CancellationToken cancellationToken) => _inner.RunTaskAsync(work, input, cancellationToken);

        public Task<IActorHandle> StartActorAsync(ActorSpec spec, CancellationToken cancellationToken) => _inner.StartActorAsync(spec, cancellationToken);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }
}
