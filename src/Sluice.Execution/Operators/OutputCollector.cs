using System.Threading.Channels;
using Sluice.Blocks;

namespace Sluice.Execution.Operators;

/// <summary>
/// Hands the last operator's blocks to the consumer (TakeAsync, IterateBatchesAsync), in input
/// order when asked: a block waits until every block before it (by read task, then seq, then slice) went out.
/// Refs go out, not bytes: the consumer fetches each block's bytes on its side, never the loop.
/// </summary>
internal sealed class OutputCollector(bool preserveOrder, IReadOnlyDictionary<int, int?> blocksPerTask, IReadOnlyList<int> taskOrder)
{
    private readonly Channel<BlockRef> _channel = Channel.CreateUnbounded<BlockRef>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Dictionary<(int Task, int Seq, int Slice), BlockRef> _held = [];
    private int _taskPos;
    private int _seq;
    private int _slice;

    public ChannelReader<BlockRef> Reader => _channel.Reader;

    public int Held => _held.Count;

    /// <summary>The block the consumer needs next (read task index, seq); null without preserve_order or once all went out.</summary>
    public (int Task, int Seq)? Next => preserveOrder && _taskPos < taskOrder.Count ? (taskOrder[_taskPos], _seq) : null;

    public void Accept(BlockRef block)
    {
        if (!preserveOrder)
        {
            _channel.Writer.TryWrite(block);
            return;
        }
        _held[(block.Lineage.TaskIndex, block.Lineage.Seq, block.Lineage.Slice?.Index ?? 0)] = block;
        Flush();
    }

    /// <summary>Emits held blocks that are next in order; call also when a read task's block count becomes known.</summary>
    public void Flush()
    {
        if (!preserveOrder) return;
        while (_taskPos < taskOrder.Count)
        {
            var task = taskOrder[_taskPos];
            if (_held.Remove((task, _seq, _slice), out var next))
            {
                _channel.Writer.TryWrite(next);
                // A whole block, or the last slice of one: the next block; else the next slice of this one.
                if (next.Lineage.Slice is { } s && s.Index + 1 < s.Count)
                {
                    _slice++;
                }
                else
                {
                    _seq++;
                    _slice = 0;
                }
                continue;
            }
            if (_slice == 0 && blocksPerTask.TryGetValue(task, out var total) && total == _seq)
            {
                _taskPos++;
                _seq = 0;
                continue;
            }
            break;
        }
    }

    public void Complete(Exception? error = null) => _channel.Writer.TryComplete(error);
}
