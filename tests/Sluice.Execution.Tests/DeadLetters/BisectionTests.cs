using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Execution.Tests.DeadLetters;

/// <summary>A batch that throws is bisected to the rows that throw: those become dead letters, the others' outputs stay in order.</summary>
public class BisectionTests
{
    [Fact]
    public async Task ApplyAsync_RowsThreeAndFortyOfSixtyFourThrow_IsolatesExactlyThoseAndKeepsTheOthersInOrder()
    {
        var input = Ids(64, new BlockLineage(2, "data.parquet#rg1", 0, FirstRow: 1_000));
        var runs = 0;
        var output = await BatchRunner.ApplyAsync("embed", (b, _) => { runs++; return Times10(b, failOn: [3, 40]); }, input, 64, OnError.DeadLetter, default);

        // Every other row's output, in input order; rows 3 and 40 gone.
        Assert.Equal(Enumerable.Range(0, 64).Where(i => i is not (3 or 40)).Select(i => i * 10L), Column(output.Batch, "x10"));
        Assert.Equal(input.Lineage, output.Lineage);
        Assert.Equal([1_004L, 1_041L], output.DeadLetters.Select(d => d.Row));
        Assert.All(output.DeadLetters, d =>
        {
            Assert.Equal("embed", d.Stage);
            Assert.Equal("data.parquet#rg1", d.TaskId);
            Assert.True(d.Kept);
            Assert.Equal("bad id; see row", d.Error);
        });
        Assert.Equal("{\"id\":3,\"text\":\"row 3\"}", output.DeadLetters[0].Input);
        Assert.Equal("{\"id\":40,\"text\":\"row 40\"}", output.DeadLetters[1].Input);
        // The whole batch, then halving: about 2·log2(64) = 12 runs per failing row at most, never one per row.
        Assert.InRange(runs, 3, 1 + 2 * 12);
    }

    [Fact]
    public async Task ApplyAsync_ManyFailingRows_HalvesUpToTheCapThenRunsRowByRow()
    {
        var input = Ids(64, new BlockLineage(0, "t", 0, 0));
        var failing = Enumerable.Range(0, 64).Where(i => i % 4 == 1).ToHashSet();
        var runs = 0;
        var output = await BatchRunner.ApplyAsync("s", (b, _) => { runs++; return Times10(b, failing); }, input, 64, OnError.Skip, default);

        Assert.Equal(failing.Order().Select(i => i + 1L), output.DeadLetters.Select(d => d.Row));
        Assert.All(output.DeadLetters, d => Assert.False(d.Kept));
        Assert.Equal(Enumerable.Range(0, 64).Where(i => !failing.Contains(i)).Select(i => i * 10L), Column(output.Batch, "x10"));
        // Bounded: at most 8 failures found by halving (12 runs each), then at most one run per row of the rest.
        Assert.InRange(runs, 16, 1 + 8 * 12 + 64);
    }

    [Fact]
    public async Task ApplyAsync_BatchSizeSplitsTheBlock_OnlyTheFailingBatchIsBisectedAndRowsCountFromTheBlock()
    {
        var input = Ids(100, new BlockLineage(0, "t", 3, FirstRow: 300));
        var output = await BatchRunner.ApplyAsync("s", (b, _) => Times10(b, failOn: [57]), input, 25, OnError.DeadLetter, default);
        Assert.Equal(99, output.Rows);
        Assert.Equal(358L, Assert.Single(output.DeadLetters).Row);
    }

    [Fact]
    public async Task ApplyAsync_EveryRowFails_EmptyBlockKeepsLineageAndCarriesEveryLetter()
    {
        var upstream = new DeadLetter("earlier", "e", "t", 1, "{}", DateTimeOffset.UnixEpoch, true);
        var input = Ids(4, new BlockLineage(0, "t", 0, 0)) with { DeadLetters = [upstream] };
        var output = await BatchRunner.ApplyAsync("s", (b, _) => Times10(b, failOn: [0, 1, 2, 3]), input, null, OnError.DeadLetter, default);
        Assert.Equal(0, output.Rows);
        Assert.Equal(input.Lineage, output.Lineage);
        // The upstream stage's letter first, then this stage's, one per row.
        Assert.Equal(["earlier", "s", "s", "s", "s"], output.DeadLetters.Select(d => d.Stage));
    }

    [Fact]
    public async Task ApplyAsync_OnErrorFail_ThrowsTheLocatedError()
    {
        var input = Ids(10, new BlockLineage(0, "t", 0, 0));
        var e = await Assert.ThrowsAsync<SluiceException>(async () => await BatchRunner.ApplyAsync("s", (b, _) => Times10(b, failOn: [4]), input, null, OnError.Fail, default));
        Assert.Contains("stage 's' failed on t rows 1–10", e.Message);
    }

    [Fact]
    public async Task ApplyManyAsync_CoalescedBatchThrows_EachLetterIsLocatedByItsOwnBlock()
    {
        var a = Ids(10, new BlockLineage(0, "a", 0, 0));
        var b = Ids(10, new BlockLineage(1, "b", 0, FirstRow: 50), start: 10);
        var outputs = await BatchRunner.ApplyManyAsync("s", (x, _) => Times10(x, failOn: [13]), [a, b], 20, OnError.DeadLetter, default);
        Assert.Empty(outputs[0].DeadLetters);
        Assert.Equal(10, outputs[0].Rows);
        var letter = Assert.Single(outputs[1].DeadLetters);
        Assert.Equal(("b", 54L), (letter.TaskId, letter.Row));
        Assert.Equal(9, outputs[1].Rows);
    }

    internal static Block Ids(int rows, BlockLineage lineage, int start = 0)
    {
        var ids = new Int64Array.Builder();
        var texts = new StringArray.Builder();
        for (var i = start; i < start + rows; i++)
        {
            ids.Append(i);
            texts.Append($"row {i}");
        }
        var schema = new Schema([new Field("id", Int64Type.Default, false), new Field("text", StringType.Default, false)], null);
        return new Block(new RecordBatch(schema, [ids.Build(), texts.Build()], rows), lineage);
    }

    /// <summary>A deterministic batch function: throws when the batch holds a failing id, else adds <c>x10</c>.</summary>
    private static ValueTask<RecordBatch> Times10(RecordBatch batch, HashSet<int> failOn)
    {
        var ids = (Int64Array)batch.Column("id");
        var x10 = new Int64Array.Builder();
        for (var i = 0; i < ids.Length; i++)
        {
            var id = ids.GetValue(i)!.Value;
            if (failOn.Contains((int)id)) throw new InvalidOperationException("bad id;\n  see row");
            x10.Append(id * 10);
        }
        return ValueTask.FromResult(ArrowBatches.WithColumn(batch, new Field("x10", Int64Type.Default, false), x10.Build()));
    }

    private static long[] Column(RecordBatch batch, string name) => ((Int64Array)batch.Column(name)).Values.ToArray();
}
