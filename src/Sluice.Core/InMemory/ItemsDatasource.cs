using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.InMemory;

/// <summary>In-memory rows, split into <paramref name="tasks"/> read tasks.</summary>
internal sealed class ItemsDatasource(IReadOnlyList<IReadOnlyDictionary<string, object?>> items, int tasks) : Datasource
{
    private readonly Schema _schema = Rows.InferSchema(items);

    private IReadOnlyList<IReadOnlyDictionary<string, object?>> Items => items;

    public override string Name => $"items({items.Count} rows)";

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var count = Math.Max(1, Math.Min(tasks, items.Count));
        var per = (items.Count + count - 1) / Math.Max(count, 1);
        var list = new List<ReadTask>();
        for (var start = 0; start < items.Count || list.Count == 0; start += Math.Max(per, 1))
        {
            list.Add(new Task(this, start, Math.Min(per, items.Count - start)));
            if (items.Count == 0) break;
        }
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(list);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(_schema);

    private sealed class Task(ItemsDatasource source, int start, int count) : ReadTask
    {
        public override string Id => $"items[{start}..{start + count})";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await System.Threading.Tasks.Task.Yield();
            for (var offset = 0; offset < count; offset += blockRows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = Math.Min(blockRows, count - offset);
                var slice = new List<IReadOnlyDictionary<string, object?>>(n);
                for (var i = 0; i < n; i++) slice.Add(source.Items[start + offset + i]);
                yield return Rows.ToBatch(slice, source._schema);
            }
        }
    }

}
