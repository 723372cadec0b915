using Apache.Arrow;
using Sluice.Blocks;

namespace Sluice.Execution.Runtime;

/// <summary>Applies a batch function to a block in slices of the stage's batch size, keeping the block's lineage
/// and turning failures into errors that say which stage and which rows.</summary>
public static class BatchRunner
{
    public static async ValueTask<Block> ApplyAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, Block input, int? batchSize, CancellationToken cancellationToken)
    {
        // Empty blocks still flow (they carry lineage for exactly-once commits) but never reach user code.
        if (input.Rows == 0) return input;
        var size = batchSize ?? input.Rows;
        var outputs = new List<RecordBatch>();
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
            catch (Exception e)
            {
                var where = input.Lineage with { FirstRow = input.Lineage.FirstRow + offset };
                var message = $"stage '{stage}' failed on {where.Describe(slice.Length)}: {e.Message}";
                if (e is BadInputException) throw new BadInputException(message, e);
                throw new SluiceException(message, e);
            }
            offset += slice.Length;
        }
        return new Block(ConcatOutputs(stage, outputs), input.Lineage);
    }

    /// <summary>
    /// Applies a batch function to several blocks as one stream of rows (small blocks coalesced into full batches),
    /// then cuts the output back into one block per input, each with its input's lineage. That needs the function to
    /// keep rows: when a batch's output has another row count than its input, or the blocks' columns differ, each block
    /// is run on its own instead (the coalesced work is discarded; batch functions are deterministic, so this is safe).
    /// </summary>
    public static async ValueTask<IReadOnlyList<Block>> ApplyManyAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, IReadOnlyList<Block> inputs, int? batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var rows = inputs.Where(b => b.Rows > 0).ToList();
        if (rows.Count <= 1 || batchSize is null || !SameColumns(rows))
            return await EachAsync(stage, apply, inputs, batchSize, cancellationToken).ConfigureAwait(false);
        RecordBatch joined;
        try
        {
            joined = ArrowBatches.Concat([.. rows.Select(b => b.Batch)]);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            // Columns of the same names and kinds that still do not join (e.g. lists of different widths).
            return await EachAsync(stage, apply, inputs, batchSize, cancellationToken).ConfigureAwait(false);
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
            catch (Exception e)
            {
                var message = $"stage '{stage}' failed on {DescribeRange(rows, offset, slice.Length)}: {e.Message}";
                if (e is BadInputException) throw new BadInputException(message, e);
                throw new SluiceException(message, e);
            }
            // Rows dropped or added: they cannot be told apart by block any more.
            if (output.Length != slice.Length) return await EachAsync(stage, apply, inputs, batchSize, cancellationToken).ConfigureAwait(false);
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
            result.Add(new Block(all.Slice(at, input.Rows), input.Lineage));
            at += input.Rows;
        }
        return result;
    }

    private static async ValueTask<IReadOnlyList<Block>> EachAsync(
        string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, IReadOnlyList<Block> inputs, int? batchSize, CancellationToken cancellationToken)
    {
        var result = new Block[inputs.Count];
        for (var i = 0; i < inputs.Count; i++) result[i] = await ApplyAsync(stage, apply, inputs[i], batchSize, cancellationToken).ConfigureAwait(false);
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
