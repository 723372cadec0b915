using System.Collections.Concurrent;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.Execution.Tests;

/// <summary>An in-memory sink for executor unit tests (the real file sinks have their own suite in Sluice.IO.Tests).</summary>
/// <param name="state">What the output already holds when opened (a resume's committed blocks).</param>
internal sealed class MemorySink(SinkState? state = null) : Datasink
{
    private readonly ConcurrentDictionary<string, Block> _blocks = new();

    public IEnumerable<RecordBatch> Batches => _blocks.Values.Select(b => b.Batch);

    public IReadOnlyDictionary<string, Block> BlocksByKey => _blocks;

    public override string Name => "memory";

    public long Rows => _blocks.Values.Sum(b => (long)b.Rows);

    public IEnumerable<long> Ids => _blocks.Values.SelectMany(b => ((Int64Array)b.Batch.Column("id")).Values.ToArray());

    public ConcurrentBag<string> CompletedTasks { get; } = [];

    public bool Completed { get; private set; }

    public bool Aborted { get; private set; }

    public int Blocks => _blocks.Count;

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(state ?? SinkState.Empty);

    public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        if (!_blocks.TryAdd(BlockKey(block.Lineage), block)) throw new InvalidOperationException("written twice");
        return ValueTask.CompletedTask;
    }

    public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken)
    {
        CompletedTasks.Add(taskId);
        return ValueTask.CompletedTask;
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        Completed = true;
        return ValueTask.CompletedTask;
    }

    public override ValueTask AbortAsync()
    {
        Aborted = true;
        return ValueTask.CompletedTask;
    }
}
