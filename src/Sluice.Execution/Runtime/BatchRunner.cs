using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.DeadLetters;

namespace Sluice.Execution.Runtime;

/// <summary>Applies a batch function to a block in slices of the stage's batch size, keeping the block's lineage
/// and turning failures into errors that say which stage and which rows.</summary>
public static class BatchRunner
{
    public static ValueTask<Block> ApplyAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, Block input, int? batchSize, CancellationToken cancellationToken) =>
        ApplyAsync(stage, apply, input, batchSize, OnError.Fail, cancellationToken);

    /// <summary>
    /// As <see cref="ApplyAsync(string, Func{RecordBatch, CancellationToken, ValueTask{RecordBatch}}, Block, int?, CancellationToken)"/>;
    /// with <paramref name="onError"/> skip or dead_letter, a batch that throws is bisected (<see cref="Bisection"/>): its
    /// failing rows become dead letters on the output block (after the input's own), the rest of its rows' outputs stay in order.
    /// </summary>
    public static async ValueTask<Block> ApplyAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, Block input, int? batchSize, OnError onError, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Empty blocks still flow (they carry lineage for exactly-once commits) but never reach user code.
        if (input.Rows == 0) return input;
        var size = batchSize ?? input.Rows;
        var outputs = new List<RecordBatch>();
        Bisection? bisection = null;
        var offset = 0;
        foreach (var slice in ArrowBatches.Split(input.Batch, size))
        {
            try
            {
                outputs.Add(await apply(slice, cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (onError != OnError.Fail)
            {
                bisection ??= new Bisection(stage, apply, input, onError, TimeProvider.System);
                bisection.Outputs.Clear();
                await bisection.RunAsync(slice, offset, e, cancellationToken).ConfigureAwait(false);
                outputs.AddRange(bisection.Outputs);
            }
            catch (Exception e)
            {
                var where = input.Lineage with { FirstRow = input.Lineage.FirstRow + offset };
                var message = $"stage '{stage}' failed on {where.Describe(slice.Length)}: {e.Message}";
                if (e is BadInputException) throw new BadInputException(message, e);
                throw new SluiceException(message, e);
            }
            offset += slice.Length;
        }
        if (bisection is null) return new Block(ConcatOutputs(stage, outputs), input.Lineage) { DeadLetters = input.DeadLetters };
        // Every row failed: an empty block still carries the lineage (its key commits) and the dead letters.
        var batch = outputs.Count > 0 ? ConcatOutputs(stage, outputs) : input.Batch.Slice(0, 0);
        return new Block(batch, input.Lineage) { DeadLetters = [.. input.DeadLetters, .. bisection.Letters] };
    }

    /// <summary>
    /// Applies a batch function to several blocks as one stream of rows (small blocks coalesced into full batches),
    /// then cuts the output back into one block per input, each with its input's lineage. That needs the function to
    /// keep rows: when a batch's output has another row count than its input, or the blocks' columns differ, each block
    /// is run on its own instead (the coalesced work is discarded; batch functions are deterministic, so this is safe).
    /// </summary>
    public static ValueTask<IReadOnlyList<Block>> ApplyManyAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, IReadOnlyList<Block> inputs, int? batchSize, CancellationToken cancellationToken) =>
        ApplyManyAsync(stage, apply, inputs, batchSize, OnError.Fail, cancellationToken);

    /// <summary>
    /// As <see cref="ApplyManyAsync(string, Func{RecordBatch, CancellationToken, ValueTask{RecordBatch}}, IReadOnlyList{Block}, int?, CancellationToken)"/>;
    /// with <paramref name="onError"/> skip or dead_letter, a coalesced batch that throws sends every block to run on its own,
    /// where failing batches are bisected and each dead letter is located by its own block's lineage.
    /// </summary>
    public static async ValueTask<IReadOnlyList<Block>> ApplyManyAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, IReadOnlyList<Block> inputs, int? batchSize, OnError onError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var rows = inputs.Where(b => b.Rows > 0).ToList();
        if (rows.Count <= 1 || batchSize is null || !SameColumns(rows))
            return await EachAsync(stage, apply, inputs, batchSize, onError, cancellationToken).ConfigureAwait(false);
        RecordBatch joined;
        try
        {
            joined = ArrowBatches.Concat([.. rows.Select(b => b.Batch)]);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            // Columns of the same names and kinds that still do not join (e.g. lists of different widths).
            return await EachAsync(stage, apply, inputs, batchSize, onError, cancellationToken).ConfigureAwait(false);
        }
        var outputs = new List<RecordBatch>();
        var offset = 0;
        foreach (var slice in ArrowBatches.Split(joined, batchSize.Value))
        {
            RecordBatch output;
            try
            {
                output = await apply(slice, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception) when (onError != OnError.Fail)
            {
                // Bisect block by block, so each failing row is located by its own block's lineage.
                return await EachAsync(stage, apply, inputs, batchSize, onError, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                var message = $"stage '{stage}' failed on {DescribeRange(rows, offset, slice.Length)}: {e.Message}";
                if (e is BadInputException) throw new BadInputException(message, e);
                throw new SluiceException(message, e);
            }
            // Rows dropped or added: they cannot be told apart by block any more.
            if (output.Length != slice.Length) return await EachAsync(stage, apply, inputs, batchSize, onError, cancellationToken).ConfigureAwait(false);
            outputs.Add(output);
            offset += slice.Length;
        }
        var all = ConcatOutputs(stage, outputs);
        var result = new List<Block>(inputs.Count);
        var at = 0;
        foreach (var input in inputs)
        {
            if (input.Rows == 0)
            {
                result.Add(input);
                continue;
            }
            result.Add(new Block(all.Slice(at, input.Rows), input.Lineage) { DeadLetters = input.DeadLetters });
            at += input.Rows;
        }
        return result;
    }

    private static async ValueTask<IReadOnlyList<Block>> EachAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, IReadOnlyList<Block> inputs, int? batchSize, OnError onError,
        CancellationToken cancellationToken)
    {
        var result = new Block[inputs.Count];
        for (var i = 0; i < inputs.Count; i++) result[i] = await ApplyAsync(stage, apply, inputs[i], batchSize, onError, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static bool SameColumns(List<Block> blocks)
    {
        var schema = blocks[0].Batch.Schema;
        return blocks.All(b => b.Batch.Schema.FieldsList.Count == schema.FieldsList.Count
            && b.Batch.Schema.FieldsList.Zip(schema.FieldsList).All(p => p.First.Name == p.Second.Name && p.First.DataType.TypeId == p.Second.DataType.TypeId));
    }

    /// <summary>The rows <paramref name="offset"/>.. of coalesced blocks, said by the first block they touch.</summary>
    private static string DescribeRange(List<Block> blocks, int offset, int count)
    {
        var at = 0;
        foreach (var b in blocks)
        {
            if (offset < at + b.Rows)
            {
                var within = offset - at;
                var where = b.Lineage with { FirstRow = b.Lineage.FirstRow + within };
                var rest = offset + count - (at + b.Rows);
                return rest > 0 ? $"{where.Describe(b.Rows - within)} (and {rest} rows of the next blocks in its batch)" : where.Describe(count);
            }
            at += b.Rows;
        }
        return $"{count} rows";
    }

    private static RecordBatch ConcatOutputs(string stage, List<RecordBatch> outputs)
    {
        var schema = outputs[0].Schema;
        foreach (var o in outputs)
        {
            if (o.Schema.FieldsList.Count != schema.FieldsList.Count)
                throw new SluiceException($"stage '{stage}' returned batches with different columns within one block; a batch function must return the same columns every call");
        }
        return ArrowBatches.Concat(outputs);
    }
}
