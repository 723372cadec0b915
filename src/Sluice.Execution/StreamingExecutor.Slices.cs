using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Operators;

namespace Sluice.Execution;

/// <summary>
/// Slices and exactly-once: a slice commits on its own (its key names the slice), and its block counts as committed
/// once every slice of it is. A block some of whose slices an earlier run committed, or one slice of which was lost
/// with a node, is read again and, at the stage that cut it, cut the same way (<see cref="BlockSlice.Plan"/>): only the
/// slices still owed go on.
/// </summary>
internal sealed partial class StreamingExecutor
{
    /// <summary>A cut to repeat: at operator <paramref name="Stage"/>, into <paramref name="Count"/> slices, keeping <paramref name="Keep"/>.</summary>
    private readonly record struct PendingCut(int Stage, int Count, IReadOnlySet<int> Keep);

    private readonly Dictionary<(int Task, int Seq), Queue<PendingCut>> _pendingCuts = [];
    private readonly Dictionary<(int Task, int Seq), HashSet<int>> _slicesCommitted = [];
    private Dictionary<(string TaskId, int Seq), (int Stage, int Count, HashSet<int> Done)>? _resumedSlices;

    /// <summary>Reads the slice keys an earlier run committed (a resume).</summary>
    private void IndexResumedSlices()
    {
        foreach (var key in _sinkState.CommittedBlocks)
        {
            if (!Datasink.TryParseSliceKey(key, out var taskId, out var seq, out var slice)) continue;
            _resumedSlices ??= [];
            if (!_resumedSlices.TryGetValue((taskId, seq), out var entry))
                _resumedSlices[(taskId, seq)] = entry = (slice.Stage, slice.Count, []);
            if (entry.Stage != slice.Stage || entry.Count != slice.Count)
                throw new SluiceException($"the output's manifest records block {seq} of {taskId} cut two ways ({entry.Count} slices at stage {entry.Stage}, {slice.Count} at stage {slice.Stage}): it is damaged; write the job again with --overwrite");
            entry.Done.Add(slice.Index);
        }
    }

    /// <summary>
    /// A whole block was read: when an earlier run committed some of its slices, they count as committed now and the
    /// block is to be cut again keeping the others. True when nothing of it is left to do (the caller drops it).
    /// </summary>
    private bool ResumeSlices(BlockRef block)
    {
        var lineage = block.Lineage;
        if (_resumedSlices is null || !_resumedSlices.Remove((lineage.TaskId, lineage.Seq), out var done)) return false;
        foreach (var i in done.Done) CommitSlice(lineage.TaskIndex, lineage.Seq, i, done.Count);
        if (done.Done.Count == done.Count) return true;
        PendCut(lineage, new PendingCut(done.Stage, done.Count, Enumerable.Range(0, done.Count).Where(i => !done.Done.Contains(i)).ToHashSet()));
        return false;
    }

    private void PendCut(BlockLineage lineage, PendingCut cut)
    {
        if (!_pendingCuts.TryGetValue((lineage.TaskIndex, lineage.Seq), out var queue)) _pendingCuts[(lineage.TaskIndex, lineage.Seq)] = queue = new();
        queue.Enqueue(cut);
    }

    /// <summary>What of <paramref name="block"/> enters <paramref name="next"/>: the block, or the slices a pending cut keeps.</summary>
    private List<BlockRef> ApplyPendingCut(OperatorState next, BlockRef block)
    {
        var key = (block.Lineage.TaskIndex, block.Lineage.Seq);
        if (block.IsView || next is not ActorPoolOperator pool || !_pendingCuts.TryGetValue(key, out var queue) || queue.Peek().Stage != next.Index)
            return [block];
        var cut = queue.Dequeue();
        if (queue.Count == 0) _pendingCuts.Remove(key);
        IReadOnlyList<BlockRef> slices;
        try
        {
            slices = _ctx!.Views.Cut(block, next.Index, cut.Count, pool.SliceAlign);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new SluiceException(
                $"{block.Lineage.Describe(block.Rows)} was cut into {cut.Count} slices at stage '{next.Name}' by an earlier run, but it now reaches that stage with {block.Rows} rows, too few for as many batches of {pool.SliceAlign}: the stages before it did not give the same rows again; write the job again with --overwrite");
        }
        var kept = new List<BlockRef>(cut.Keep.Count);
        foreach (var slice in slices)
        {
            if (cut.Keep.Contains(slice.Lineage.Slice!.Value.Index)) kept.Add(slice);
            else FreeBlock(slice);
        }
        return kept;
    }

    /// <summary>The sink committed a block or a slice.</summary>
    private void CommitBlock(BlockLineage lineage)
    {
        if (lineage.Slice is { } s) CommitSlice(lineage.TaskIndex, lineage.Seq, s.Index, s.Count);
        else Commit(lineage.TaskIndex);
    }

    /// <summary>A slice is committed; its block is once all its slices are.</summary>
    private void CommitSlice(int task, int seq, int index, int count)
    {
        if (!_slicesCommitted.TryGetValue((task, seq), out var done)) _slicesCommitted[(task, seq)] = done = [];
        if (!done.Add(index) || done.Count < count) return;
        _slicesCommitted.Remove((task, seq));
        Commit(task);
    }

    /// <summary>A ref was consumed: its stored block is freed unless other slices still view it.</summary>
    private void FreeBlock(BlockRef block)
    {
        if (_ctx!.Views.Release(block)) _runtime.Free(block);
    }
}
