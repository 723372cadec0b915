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
