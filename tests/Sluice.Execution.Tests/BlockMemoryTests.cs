using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests;

/// <summary>A consumed block's native Arrow memory is released when it is freed, unless something can still read it (issue 10, item 4).</summary>
public sealed class BlockMemoryTests : IAsyncDisposable
{
    private readonly LocalWorkerRuntime _runtime = new(new NodeResources(2, 0, 1L << 30));

    public ValueTask DisposeAsync() => _runtime.DisposeAsync();

    private static Int64Array Longs(int from, int count)
    {
        var builder = new Int64Array.Builder();
        for (var i = 0; i < count; i++) builder.Append(from + i);
        return builder.Build();
    }

    private static Block Block(params IArrowArray[] columns)
    {
        var schema = new Schema(columns.Select((c, i) => new Field($"c{i}", Int64Type.Default, nullable: false)), null);
        return new Block(new RecordBatch(schema, columns, columns[0].Length), default);
    }

    [Fact]
    public void Free_BlockNothingShares_ReleasesItsAllocations()
    {
        var stored = _runtime.Put(Block(Longs(0, 100), Longs(100, 100)));

        _runtime.Free(stored);

        Assert.Equal(2, _runtime.FreedAllocations);
    }

    [Fact]
    public void Free_ColumnSharedWithAnotherStoredBlock_KeepsItUntilTheLastHolderIsFreed()
    {
        var shared = Longs(0, 100);
        var input = _runtime.Put(Block(shared));
        // A processor's output that reuses its input's column, as OnnxProcessor and identity functions do.
        var output = _runtime.Put(Block(shared, Longs(500, 100)));

        _runtime.Free(input);

        Assert.Equal(0, _runtime.FreedAllocations);
        Assert.Equal(99, ((Int64Array)_runtime.Borrow(output).Batch.Column(0)).GetValue(99));
        _runtime.Free(output);
        Assert.Equal(2, _runtime.FreedAllocations);
    }

    [Fact]
    public void Free_SliceOfAStoredBlock_SharesItsBuffersAndKeepsThem()
    {
        var whole = Block(Longs(0, 100));
        var wholeRef = _runtime.Put(whole);
        var sliceRef = _runtime.Put(whole with { Batch = whole.Batch.Slice(50, 50) });

        _runtime.Free(wholeRef);

        Assert.Equal(0, _runtime.FreedAllocations);
        Assert.Equal(99, ((Int64Array)_runtime.Borrow(sliceRef).Batch.Column(0)).GetValue(49));
        _runtime.Free(sliceRef);
        Assert.Equal(1, _runtime.FreedAllocations);
    }

    [Fact]
    public void Free_SameBatchStoredTwice_ReleasedWithTheSecond()
    {
        var block = Block(Longs(0, 10));
        var first = _runtime.Put(block);
        var second = _runtime.Put(block with { Lineage = new BlockLineage(1, "t", 1, 0) });

        _runtime.Free(first);
        Assert.Equal(0, _runtime.FreedAllocations);
        _runtime.Free(second);
        Assert.Equal(1, _runtime.FreedAllocations);
    }

    [Fact]
    public async Task Free_BlockLentToASinkOrConsumer_IsLeftToTheGc()
    {
        var shared = Longs(0, 100);
        var lentRef = _runtime.Put(Block(shared));
        var otherRef = _runtime.Put(Block(shared, Longs(7, 100)));

        var lent = await _runtime.GetAsync(lentRef, CancellationToken.None);
        _runtime.Free(lentRef);
        _runtime.Free(otherRef);

        // The consumer may keep what it was given, and the column it shares with the other block.
        Assert.Equal(99, ((Int64Array)lent.Batch.Column(0)).GetValue(99));
        Assert.Equal(1, _runtime.FreedAllocations);
    }

    [Fact]
    public void Free_Twice_ReleasesOnce()
    {
        var stored = _runtime.Put(Block(Longs(0, 10)));
        _runtime.Free(stored);
        _runtime.Free(stored);
        Assert.Equal(1, _runtime.FreedAllocations);
    }
}
