using System.Collections.Concurrent;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Tests;

/// <summary>
/// A sink that commits blocks in groups (as file sinks commit a part file of many blocks): the executor counts a
/// block, and marks its read task complete, only once the sink has reported the block committed.
/// </summary>
public sealed class GroupedCommitTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(7)]
    [InlineData(int.MaxValue)]
    public async Task WriteAsync_SinkCommitsInGroups_EveryTaskMarkedOnlyAfterAllItsBlocksCommitted(int group)
    {
        var sink = new GroupingSink(group);
        var ds = Dataset.Range(2_000, new ReadOptions { BlockRows = 10 }).MapBatches(b => b, new MapBatchesOptions { Name = "identity" });

        await ds.WriteAsync(sink, new ExecutionOptions { Resources = new NodeResources(4, 0, 1L << 30) }).WaitAsync(Limit);

        Assert.True(sink.Completed);
        Assert.Empty(sink.MarkedTooEarly);
        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => (long)i), sink.Ids.Order());
        Assert.Equal(sink.Tasks, sink.CompletedTasks.Order(StringComparer.Ordinal));
        // Everything held at the end of the input was committed by the one flush.
        Assert.Equal(1, sink.Flushes);
    }

    /// <summary>Holds appended blocks and commits them <c>group</c> at a time, or at the flush; records marks that came too early.</summary>
    private sealed class GroupingSink(int group) : Datasink
    {
        private readonly Lock _lock = new();
        private readonly List<Block> _held = [];
        private readonly Dictionary<string, Block> _committed = [];
        private readonly HashSet<string> _tasks = [];

        public override string Name => "grouping";

        public bool Completed { get; private set; }

        public int Flushes { get; private set; }

        public ConcurrentBag<string> MarkedTooEarly { get; } = [];

        public ConcurrentBag<string> CompletedTasks { get; } = [];

        public IEnumerable<long> Ids => _committed.Values.SelectMany(b => ((Int64Array)b.Batch.Column("id")).Values.ToArray());

        public IEnumerable<string> Tasks => _tasks.Order(StringComparer.Ordinal);

        public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

        public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken) => throw new InvalidOperationException("the executor appends");

        public override ValueTask<IReadOnlyList<BlockLineage>> AppendAsync(Block block, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _tasks.Add(block.Lineage.TaskId);
                _held.Add(block);
                return ValueTask.FromResult(_held.Count >= group ? CommitHeld() : []);
            }
        }

        public override ValueTask<IReadOnlyList<BlockLineage>> FlushAsync(CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                Flushes++;
                return ValueTask.FromResult(CommitHeld());
            }
        }

        public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                for (var seq = 0; seq < blocks; seq++)
                    if (!_committed.ContainsKey(BlockKey(taskId, seq))) MarkedTooEarly.Add(BlockKey(taskId, seq));
            }
            CompletedTasks.Add(taskId);
            return ValueTask.CompletedTask;
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                if (_held.Count > 0) throw new InvalidOperationException($"completed with {_held.Count} blocks never committed");
            }
            Completed = true;
            return ValueTask.CompletedTask;
        }

        private IReadOnlyList<BlockLineage> CommitHeld()
        {
            foreach (var b in _held) _committed.Add(BlockKey(b.Lineage), b);
            var lineages = _held.Select(b => b.Lineage).ToList();
            _held.Clear();
            return lineages;
        }
    }
}
