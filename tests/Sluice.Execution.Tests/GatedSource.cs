using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Execution.Tests;

/// <summary>One read task of id blocks that stops after <paramref name="before"/> blocks until the test opens the gate.</summary>
internal sealed class GatedSource(int before, int after, int rows) : Datasource
{
    public int Before => before;

    public int After => after;

    public int BlockRows => rows;

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override string Name => "gated";

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<ReadTask>>([new Task(this)]);

    private sealed class Task(GatedSource source) : ReadTask
    {
        public override string Id => "gated";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            long id = 0;
            for (var b = 0; b < source.Before + source.After; b++)
            {
                if (b == source.Before) await source.Gate.Task.WaitAsync(cancellationToken);
                var items = Enumerable.Range(0, source.BlockRows).Select(_ => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = id++ }).ToList();
                yield return Rows.ToBatch(items);
            }
        }
    }
}
