using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution.Stats;

namespace Sluice.Execution;

/// <summary>The consuming calls of a <see cref="Dataset"/>: they plan and run it.</summary>
public static class DatasetExecution
{
    /// <summary>Writes the dataset through <paramref name="sink"/>, exactly once per block; returns the final stats.</summary>
    public static Task<ExecutionSnapshot> WriteAsync(this Dataset dataset, Datasink sink, ExecutionOptions? options = null, CancellationToken cancellationToken = default) =>
        JobExecution.Start(dataset, sink, options, cancellationToken).Completion;

    /// <summary>Streams the dataset's batches (empty blocks skipped). Stopping early stops the job.</summary>
    public static async IAsyncEnumerable<RecordBatch> IterateBatchesAsync(this Dataset dataset, ExecutionOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var executor = new StreamingExecutor(dataset.Plan, null, options ?? new ExecutionOptions(), collectOutput: true);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Task.Run(() => executor.RunAsync(stop.Token), stop.Token);
        var reader = executor.Output!.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    var block = await executor.GetAsync(item, cancellationToken).ConfigureAwait(false);
                    executor.Release(item);
                    if (block.Rows > 0) yield return block.Batch;
                }
            }
            await run.ConfigureAwait(false);
        }
        finally
        {
            if (!run.IsCompleted)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try { await run.ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }
    }

    /// <summary>The first <paramref name="count"/> rows, in input order.</summary>
    public static async Task<List<Dictionary<string, object?>>> TakeAsync(this Dataset dataset, int count, ExecutionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var rows = new List<Dictionary<string, object?>>(count);
        if (count <= 0) return rows;
        options = (options ?? new ExecutionOptions()) with { PreserveOrder = true };
        await foreach (var batch in dataset.IterateBatchesAsync(options, cancellationToken).ConfigureAwait(false))
        {
            var slice = batch.Length > count - rows.Count ? batch.Slice(0, count - rows.Count) : batch;
            rows.AddRange(Rows.FromBatch(slice));
            if (rows.Count >= count) break;
        }
        return rows;
    }

    /// <summary>The number of rows.</summary>
    public static async Task<long> CountAsync(this Dataset dataset, ExecutionOptions? options = null, CancellationToken cancellationToken = default)
    {
        long n = 0;
        await foreach (var batch in dataset.IterateBatchesAsync(options, cancellationToken).ConfigureAwait(false)) n += batch.Length;
        return n;
    }

    /// <summary>The dataset's schema: the source's own when no stage changes it, else that of the first batch produced.</summary>
    public static async Task<Schema> SchemaAsync(this Dataset dataset, ExecutionOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (dataset.Plan is Sluice.Plan.ReadOperator read && await read.Source.InferSchemaAsync(cancellationToken).ConfigureAwait(false) is { } known)
            return known;
        await foreach (var batch in dataset.IterateBatchesAsync(options, cancellationToken).ConfigureAwait(false)) return batch.Schema;
        throw new SluiceException("the dataset is empty, so its schema cannot be known from its rows");
    }
}
