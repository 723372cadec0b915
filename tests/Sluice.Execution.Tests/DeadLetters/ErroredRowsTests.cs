using System.Collections.Concurrent;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests.DeadLetters;

/// <summary>Stages with on_error skip or dead_letter, run by the executor: errored rows counted per stage, limits enforced, letters delivered once.</summary>
public class ErroredRowsTests
{
    private static readonly ExecutionOptions Small = new() { Resources = new NodeResources(4, 0, 8L << 30) };

    // 1,000 rows in blocks of 100: ids ending in 07 fail (10 rows).
    private static Dataset Job(MapBatchesOptions options) =>
        Dataset.Range(1_000, new ReadOptions { BlockRows = 100 }).MapBatches<FailOnSevenProcessor>(options with { Name = "embed", BatchSize = 20, Pool = new PoolSize(2, 2) });

    private static readonly long[] Failing = [.. Enumerable.Range(0, 10).Select(i => i * 100L + 7)];

    [Fact]
    public async Task WriteAsync_Skip_WritesEveryOtherRowAndCountsTheErroredRowsInStats()
    {
        var sink = new MemorySink();
        var stats = await Job(new() { OnError = OnError.Skip }).WriteAsync(sink, Small);
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => (long)i).Except(Failing), sink.Ids.Order());
        Assert.Equal(10, stats.Operators.Single(o => o.Name == "embed").ErroredRows);
        Assert.True(sink.Completed);
    }

    [Fact]
    public async Task WriteAsync_DeadLetter_EachFailingRowReachesTheSinkOnceWithItsBlock()
    {
        var sink = new LetterSink();
        var stats = await Job(new() { OnError = OnError.DeadLetter }).WriteAsync(sink, Small);
        Assert.Equal(990, sink.Rows);
        // Range rows are numbered from 1 within their read task; ids are global, so compare by the input row's id.
        Assert.Equal(Failing, sink.Letters.Select(l => IdOf(l.Input)).Order());
        Assert.All(sink.Letters, l => Assert.Equal("embed", l.Stage));
        Assert.Equal(10, stats.Operators.Single(o => o.Name == "embed").ErroredRows);
    }

    [Fact]
    public async Task WriteAsync_BlocksLostAfterTheLastStage_TheirErroredRowsCountedOnce()
    {
        // Every output block of the stage carries a dead letter (one failing id per 100 rows); each is lost once when the
        // sink fetches it, so it is recomputed and passes the last stage a second time with the same letters.
        var runtime = new FaultyRuntime(_ => false, _ => false, loseRef: b => b.DeadLetters.Count > 0);
        var sink = new MemorySink();

        var stats = await Job(new() { OnError = OnError.Skip }).WriteAsync(sink, Small with { Runtime = runtime });

        Assert.True(runtime.BlocksLost >= 10, $"{runtime.BlocksLost} blocks lost");
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => (long)i).Except(Failing), sink.Ids.Order());
        Assert.Equal(10, stats.Operators.Single(o => o.Name == "embed").ErroredRows);
    }

    [Fact]
    public async Task WriteAsync_OverMaxErroredRows_FailsNamingTheStageAndTheFirstErrors()
    {
        var e = await Assert.ThrowsAsync<SluiceException>(() => Job(new() { OnError = OnError.Skip, MaxErroredRows = 5 }).WriteAsync(new MemorySink(), Small));
        Assert.Contains("stage 'embed' failed on 6 rows, over its max_errored_rows 5", e.Message);
        Assert.Contains("matches 07", e.Message);
        Assert.Matches(@"first errors: \S+ row \d+: ", e.Message);
    }

    [Fact]
    public async Task WriteAsync_ErroredFraction_FailsOverTheLimitAndPassesUnderIt()
    {
        var e = await Assert.ThrowsAsync<SluiceException>(() => Job(new() { OnError = OnError.Skip, MaxErroredFraction = 0.005 }).WriteAsync(new MemorySink(), Small));
        Assert.Contains("stage 'embed' failed on 10 of 1000 rows read", e.Message);
        Assert.Contains("max_errored_fraction 0.005", e.Message);

        var sink = new MemorySink();
        await Job(new() { OnError = OnError.Skip, MaxErroredFraction = 0.02 }).WriteAsync(sink, Small);
        Assert.Equal(990, sink.Rows);
    }

    [Fact]
    public async Task TakeAsync_DeadLetterWithNoSink_IsRefusedBeforeItRuns()
    {
        var e = await Assert.ThrowsAsync<SluiceException>(() => Job(new() { OnError = OnError.DeadLetter }).TakeAsync(10, Small));
        Assert.Contains("stage 'embed' has on_error: dead_letter", e.Message);
        Assert.Contains("on_error: skip", e.Message);
    }

    [Fact]
    public async Task WriteAsync_DeadLetterToASinkThatHoldsNone_IsRefused()
    {
        var sink = new MemorySink();
        var e = await Assert.ThrowsAsync<SluiceException>(() => Job(new() { OnError = OnError.DeadLetter }).WriteAsync(sink, Small));
        Assert.Contains("its sink 'memory' does not write dead letters", e.Message);
        Assert.Equal(0, sink.Rows);
    }

    [Fact]
    public void Problems_LimitsWithFail_AndOutOfRangeValues_NameTheField()
    {
        Assert.Contains(new MapBatchesOptions { MaxErroredRows = 3 }.Problems(), p => p.Member == nameof(MapBatchesOptions.OnError));
        Assert.Contains(new MapBatchesOptions { OnError = OnError.Skip, MaxErroredRows = -1 }.Problems(), p => p.Member == nameof(MapBatchesOptions.MaxErroredRows));
        Assert.Contains(new MapBatchesOptions { OnError = OnError.Skip, MaxErroredFraction = 1.5 }.Problems(), p => p.Member == nameof(MapBatchesOptions.MaxErroredFraction));
        Assert.Empty(new MapBatchesOptions { OnError = OnError.DeadLetter, MaxErroredRows = 0, MaxErroredFraction = 0.1 }.Problems());
    }

    private static long IdOf(string json) => System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("id").GetInt64();

    /// <summary>Throws, as bad input, on any batch holding an id whose last two digits are 07.</summary>
    internal sealed class FailOnSevenProcessor : IBatchProcessor
    {
        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            var ids = (Int64Array)batch.Column("id");
            for (var i = 0; i < ids.Length; i++)
                if (ids.GetValue(i) % 100 == 7) throw new BadInputException($"id {ids.GetValue(i)} matches 07");
            return ValueTask.FromResult(batch);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>An in-memory sink that keeps dead letters (the file sinks' _errors/ is tested in Sluice.IO.Tests); refuses a block key twice.</summary>
    private sealed class LetterSink : Datasink
    {
        private readonly ConcurrentDictionary<string, Block> _blocks = new();

        public override string Name => "letters";

        public override bool HoldsDeadLetters => true;

        public long Rows => _blocks.Values.Sum(b => (long)b.Rows);

        public IEnumerable<DeadLetter> Letters => _blocks.Values.SelectMany(b => b.DeadLetters);

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
        {
            if (!_blocks.TryAdd(BlockKey(block.Lineage), block)) throw new InvalidOperationException("written twice");
            return ValueTask.CompletedTask;
        }

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
