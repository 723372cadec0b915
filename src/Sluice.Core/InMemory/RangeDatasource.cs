using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;

namespace Sluice.InMemory;

/// <summary>The integers 0..n-1 in a column <c>id</c>, split into read tasks.</summary>
internal sealed class RangeDatasource(long count, int tasks) : Datasource
{
    private static readonly Schema IdSchema = new([new Field("id", Int64Type.Default, nullable: false)], null);

    public override string Name => $"range({count})";

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(IdSchema);

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var n = (int)Math.Max(1, Math.Min(tasks, count));
        var per = (count + n - 1) / n;
        var list = new List<ReadTask>();
        for (long start = 0; start < count; start += per) list.Add(new Task(start, Math.Min(per, count - start)));
        if (list.Count == 0) list.Add(new Task(0, 0));
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(list);
    }

    private sealed class Task(long start, long length) : ReadTask
    {
        public override string Id => $"range[{start}..{start + length})";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await System.Threading.Tasks.Task.Yield();
            for (long offset = 0; offset < length; offset += blockRows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = (int)Math.Min(blockRows, length - offset);
                var values = new long[n];
                for (var i = 0; i < n; i++) values[i] = start + offset + i;
                var b = new Int64Array.Builder();
                b.Append(values.AsSpan());
                yield return new RecordBatch(IdSchema, [b.Build()], n);
            }
        }
    }
}
