using Sluice.Contracts;
using Sluice.Execution.Planning;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>Rows per block chosen from the job's shape: the input's size and the widest pool, with a floor and a cap; a given value wins.</summary>
public sealed class BlockSizingTests
{
    private static ActorMapSpec Pool(string name, int max, int? batch = null, int concurrency = 2) =>
        new(name, () => throw new InvalidOperationException(), "P", new MapBatchesOptions { Pool = new PoolSize(1, max), BatchSize = batch, MaxConcurrency = concurrency },
            ResourceRequest.OneCpu);

    private static SourceEstimate Text(long rows, long bytesPerRow = 80) => new(rows * bytesPerRow, rows, 1, "one file");

    [Fact]
    public void Choose_GivenBlockRows_WinsOverEverything()
    {
        var size = BlockSizing.Choose(new ReadOptions { BlockRows = 1000 }, Text(2822), [Pool("A", 8)]);

        Assert.Equal(1000, size.Rows);
        Assert.Equal("given by read.block_rows", size.Reason);
    }

    [Fact]
    public void Choose_SmallFileWidePool_FourBlocksPerSlotOfTheWidestPool()
    {
        var size = BlockSizing.Choose(new ReadOptions(), Text(2822), [Pool("A", 2), Pool("B", 8)]);

        // 8 actors x 2 tasks each x 4 blocks = 64 blocks: 2822 / 64 = 44 rows.
        Assert.Equal(44, size.Rows);
        Assert.True(2822.0 / size.Rows >= 2 * 8);
        Assert.Contains("the widest pool 'B' has 16 slots", size.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_BatchSizeAboveThePoolShare_RaisedToTheBatch()
    {
        var size = BlockSizing.Choose(new ReadOptions(), Text(100), [Pool("embed", 2, batch: 32)]);

        Assert.Equal(32, size.Rows);
        Assert.Contains("raised to the batch size 32", size.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_NoBatchSize_FloorKeepsBlocksFromBeingSingleRows()
    {
        var size = BlockSizing.Choose(new ReadOptions(), Text(100), [Pool("A", 8)]);

        Assert.Equal(BlockSizing.MinRows, size.Rows);
    }

    [Fact]
    public void Choose_LargeInputOfWideRows_BytesDecide()
    {
        // 10 KB rows: 4 MiB hold 419 of them, far fewer than the pool's share of ten million rows.
        var size = BlockSizing.Choose(new ReadOptions(), Text(10_000_000, bytesPerRow: 10_000), [Pool("A", 8)]);

        Assert.Equal(419, size.Rows);
    }

    [Fact]
    public void Choose_LargeInputOfNarrowRows_Capped()
    {
        var size = BlockSizing.Choose(new ReadOptions(), Text(100_000_000, bytesPerRow: 10), []);

        Assert.Equal(BlockSizing.MaxRows, size.Rows);
        Assert.Contains("capped", size.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_NoEstimate_TheOldDefault()
    {
        var size = BlockSizing.Choose(new ReadOptions(), null, [Pool("A", 8)]);

        Assert.Equal(BlockSizing.FallbackRows, size.Rows);
        Assert.Contains("cannot estimate", size.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_InMemorySource_KeepsTheFallbackAndExplainsIt()
    {
        var plan = Planner.Plan(Dataset.Range(100).Plan, null, new NodeResources(4, 0, 1L << 30));

        var read = Assert.IsType<SourceSpec>(plan.Operators[0]);
        Assert.Equal(BlockSizing.FallbackRows, read.Block.Rows);
        Assert.Contains("block size: the default 1024", plan.Explain(new NodeResources(4, 0, 1L << 30), 1L << 30), StringComparison.Ordinal);
    }
}
