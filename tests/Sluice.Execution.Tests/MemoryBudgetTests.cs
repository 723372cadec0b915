using Sluice.Blocks;
using Sluice.Execution.Budget;

namespace Sluice.Execution.Tests;

/// <summary>
/// The memory budget's decisions, driven by hand: reservations per producing operator, the shared
/// pool, the progress rule, and the reason each <see cref="BackpressureDecision"/> gives.
/// </summary>
public sealed class MemoryBudgetTests
{
    private const long MiB = 1L << 20;

    // A read, one map and a sink: two producers. 8 MiB = 2 x 2 MiB reserved + 4 MiB shared.
    private static MemoryBudget ReadMapWrite(Func<string, long>? nodeLimit = null) => new(8 * MiB, [true, true, false], nodeLimit);

    private static BlockRef Block(long bytes, string node = "local", int seq = 0) =>
        new(new Guid(seq, 0, 0, new byte[8]), node, 100, bytes, new BlockLineage(0, "t", seq, 0));

    /// <summary>A reservation that became a block of <paramref name="bytes"/>: the executor ends the reservation, then charges the block.</summary>
    private static BlockRef Produce(MemoryBudget budget, int op, BackpressureDecision decision, long bytes)
    {
        Assert.True(decision.Allowed, decision.Reason);
        budget.EndReservation(op, decision.ReserveBytes);
        var block = Block(bytes);
        budget.Charge(op, block);
        return block;
    }

    [Fact]
    public void Constructor_TwoProducersAndASink_HalfTheBudgetSplitIntoReservationsSinkReservesNothing()
    {
        var budget = ReadMapWrite();

        Assert.Equal(2 * MiB, budget.ReservationOf(0));
        Assert.Equal(2 * MiB, budget.ReservationOf(1));
        Assert.Equal(0, budget.ReservationOf(2));
        Assert.Equal(8 * MiB, budget.Total);
    }

    [Fact]
    public void TryReserve_ReadBeforeItsFirstBlock_OneBlockAtATimeUntilTheSizeIsKnown()
    {
        var budget = ReadMapWrite();

        var first = budget.TryReserve(0);
        var second = budget.TryReserve(0);

        Assert.Equal(BackpressureDecision.Allow(0, "nothing in flight: progress is always allowed"), first);
        Assert.Equal(BackpressureDecision.Deny("block size not known yet: one block at a time until the first is seen"), second);

        Produce(budget, 0, first, 1 * MiB);
        Assert.Equal(BackpressureDecision.Allow(1 * MiB, "within the operator's reservation"), budget.TryReserve(0));
    }

    [Fact]
    public void TryReserve_MapBeforeItsFirstBlock_ReservesTwiceItsInput()
    {
        var budget = ReadMapWrite();

        var decision = budget.TryReserve(1, inputBytes: 3 * MiB);

        Assert.True(decision.Allowed);
        Assert.Equal(6 * MiB, decision.ReserveBytes);
    }

    [Fact]
    public void TryReserve_NothingInFlightWhileAnotherHoldsTheSharedPool_StillAllowsOneBlockLargerThanItsReservation()
    {
        // Read, two maps, sink: 12 MiB = 3 x 2 MiB reserved + 6 MiB shared.
        var budget = new MemoryBudget(12 * MiB, [true, true, true, false]);
        var second = Enumerable.Range(0, 5).Select(_ => budget.TryReserve(2, inputBytes: 1 * MiB)).ToList();
        Assert.Equal([true, true, true, true, false], second.Select(d => d.Allowed)); // 2 MiB its own + 6 MiB shared, then refused

        // Progress is never refused to an operator holding nothing, whatever the others hold: it would starve.
        var first = budget.TryReserve(1, inputBytes: 3 * MiB);

        Assert.Equal(BackpressureDecision.Allow(6 * MiB, "nothing in flight: progress is always allowed"), first);
        Assert.False(budget.TryReserve(1, inputBytes: 3 * MiB).Allowed);
    }

    [Fact]
    public void TryReserve_PastTheReservation_BorrowsTheSharedPoolThenDeniesWithTheReason()
    {
        var budget = ReadMapWrite();
        Produce(budget, 0, budget.TryReserve(0), 1 * MiB); // 1 MiB live: the read's block size is now known

        var decisions = Enumerable.Range(0, 6).Select(_ => budget.TryReserve(0)).ToList();

        // 1 MiB live + 1 within the 2 MiB reservation, then 4 borrowed (the whole shared pool), then refused.
        Assert.Equal(
            [
                BackpressureDecision.Allow(1 * MiB, "within the operator's reservation"),
                BackpressureDecision.Allow(1 * MiB, "borrowed from the shared pool"),
                BackpressureDecision.Allow(1 * MiB, "borrowed from the shared pool"),
                BackpressureDecision.Allow(1 * MiB, "borrowed from the shared pool"),
                BackpressureDecision.Allow(1 * MiB, "borrowed from the shared pool"),
                BackpressureDecision.Deny("output 6.0 MiB of reservation 2.0 MiB, shared pool full"),
            ],
            decisions);
    }

    /// <summary>
    /// The executor asks operators downstream first each turn (drain before you fill), so a downstream
    /// operator borrows the shared pool first; the upstream one keeps its own reservation and borrows
    /// only what the downstream one gives back.
    /// </summary>
    [Fact]
    public void TryReserve_DownstreamAskedFirstTakesTheSharedPool_UpstreamKeepsOnlyItsReservation()
    {
        var budget = ReadMapWrite();
        Produce(budget, 0, budget.TryReserve(0), 1 * MiB);
        var mapBlocks = new List<BlockRef> { Produce(budget, 1, budget.TryReserve(1, inputBytes: 512 * 1024), 1 * MiB) };

        // Downstream first: the map borrows until the shared pool is empty.
        while (budget.TryReserve(1) is { Allowed: true } d) mapBlocks.Add(Produce(budget, 1, d, 1 * MiB));

        Assert.Equal(6, mapBlocks.Count); // 2 MiB reserved + 4 MiB shared
        Assert.Equal(BackpressureDecision.Allow(1 * MiB, "within the operator's reservation"), budget.TryReserve(0));
        Assert.Equal(BackpressureDecision.Deny("output 2.0 MiB of reservation 2.0 MiB, shared pool full"), budget.TryReserve(0));

        // The sink consumed two of the map's blocks: what the map borrowed goes back to the pool, and the read may borrow it.
        budget.Release(1, mapBlocks[^1]);
        budget.Release(1, mapBlocks[^2]);

        Assert.Equal(BackpressureDecision.Allow(1 * MiB, "borrowed from the shared pool"), budget.TryReserve(0));
    }

    [Fact]
    public void ChargeAndRelease_Blocks_TrackUsedPerOperatorAndThePeak()
    {
        var budget = ReadMapWrite();
        var a = Block(3 * MiB);
        var b = Block(2 * MiB, seq: 1);

        budget.Charge(0, a);
        budget.Charge(1, b);
        budget.Release(0, a);

        Assert.Equal(0, budget.UsedBy(0));
        Assert.Equal(2 * MiB, budget.UsedBy(1));
        Assert.Equal(2 * MiB, budget.UsedBytes);
        Assert.Equal(5 * MiB, budget.PeakUsedBytes);
    }

    [Fact]
    public void NodeHasRoom_NodeAtItsOwnLimit_RefusesMoreButAnEmptyNodeAlwaysTakesOneBlock()
    {
        var budget = ReadMapWrite(node => node == "worker-a" ? 2 * MiB : 8 * MiB);
        var held = Block(2 * MiB, node: "worker-a");

        budget.Charge(1, held);

        Assert.False(budget.NodeHasRoom("worker-a", 1));
        Assert.True(budget.NodeHasRoom("worker-b", 100 * MiB)); // holds nothing: one block, however large, guarantees progress
        Assert.Equal(2 * MiB, budget.NodeUsed["worker-a"]);

        budget.Release(1, held);

        Assert.True(budget.NodeHasRoom("worker-a", 2 * MiB));
    }

    /// <summary>
    /// Property: whatever the order of reservations, produced blocks and consumed blocks, the bytes live
    /// plus the bytes reserved never exceed the budget — for blocks of a steady size per operator that
    /// fits its reservation, and a map's first guess (twice its input) fitting it too.
    /// </summary>
    [Fact]
    public void TryReserve_RandomTurns_LivePlusReservedNeverExceedsTheBudget()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var total = random.Next(4, 64) * MiB;
            var budget = new MemoryBudget(total, [true, true, true, false]);
            var blockBytes = new long[3];
            for (var op = 0; op < 3; op++)
            {
                var cap = op == 0 ? budget.ReservationOf(op) / 2 : Math.Min(budget.ReservationOf(op) / 2, 2 * blockBytes[op - 1]);
                blockBytes[op] = Math.Max(1, (long)(cap * random.NextDouble()));
            }
            var pending = new List<(int Op, long Reserved)>();
            var live = new List<(int Op, BlockRef Block)>();
            for (var step = 0; step < 300; step++)
            {
                var action = random.Next(3);
                if (action == 0)
                {
                    var op = random.Next(3);
                    var decision = budget.TryReserve(op, op == 0 ? 0 : blockBytes[op - 1]);
                    if (decision.Allowed) pending.Add((op, decision.ReserveBytes));
                }
                else if (action == 1 && pending.Count > 0)
                {
                    var i = random.Next(pending.Count);
                    var (op, reserved) = pending[i];
                    pending.RemoveAt(i);
                    budget.EndReservation(op, reserved);
                    var block = Block(blockBytes[op], seq: step);
                    budget.Charge(op, block);
                    live.Add((op, block));
                }
                else if (live.Count > 0)
                {
                    var i = random.Next(live.Count);
                    budget.Release(live[i].Op, live[i].Block);
                    live.RemoveAt(i);
                }
                var reservedNow = pending.Sum(p => p.Reserved);
                Assert.True(budget.UsedBytes + reservedNow <= total,
                    $"seed {seed} step {step}: {budget.UsedBytes} live + {reservedNow} reserved > budget {total}");
                Assert.Equal(live.Sum(l => l.Block.Bytes), budget.UsedBytes);
            }
        }
    }
}
