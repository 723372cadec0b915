using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.Execution.DeadLetters;

/// <summary>
/// Finds the rows of a failed batch that fail, by running the function on halves of it, recursively, until single
/// rows are isolated: the failing rows become dead letters, the other rows' outputs are kept in row order. Batch
/// functions are deterministic (the executor's retries assume it too), so when a part fails and its first half
/// runs clean, its second half is known to fail without running it again.
/// </summary>
internal sealed class Bisection(string stage, Func<RecordBatch, CancellationToken, ValueTask<RecordBatch>> apply, Block input, OnError onError, TimeProvider time)
{
    /// <summary>
    /// Failing rows one batch may have isolated by halving before the rest of it runs row by row. Halving costs about
    /// 2·log2(batch) runs per failing row (12 for a batch of 64) and batch-sized runs are cheap per row, so it wins
    /// while failures are few; with more than 8 failing rows in one batch, rows fail often enough that one run per
    /// remaining row (a bounded batch size of runs) is the better bound.
    /// </summary>
    public const int MaxHalvedFailures = 8;

    private int _failures;

    /// <summary>Outputs of the rows that ran clean, in row order.</summary>
    public List<RecordBatch> Outputs { get; } = [];

    public List<DeadLetter> Letters { get; } = [];

    /// <summary>Runs of the function this bisection made (for tests and logs).</summary>
    public int Runs { get; private set; }

    /// <summary>Isolates the failing rows of <paramref name="batch"/>, which starts at row <paramref name="offset"/> of the block and failed with <paramref name="error"/>.</summary>
    public async ValueTask RunAsync(RecordBatch batch, int offset, Exception error, CancellationToken cancellationToken)
    {
        _failures = 0;
        await SplitAsync(batch, offset, error, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="part"/> unless it is known to fail (<paramref name="known"/>); on failure, halves it.</summary>
    private async ValueTask SplitAsync(RecordBatch part, int offset, Exception? known, CancellationToken cancellationToken)
    {
        var error = known;
        if (error is null)
        {
            try
            {
                Runs++;
                Outputs.Add(await apply(part, cancellationToken).ConfigureAwait(false));
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                error = e;
            }
        }
        if (part.Length == 1)
        {
            _failures++;
            Letters.Add(Letter(part, offset, error));
            return;
        }
        if (_failures >= MaxHalvedFailures)
        {
            for (var i = 0; i < part.Length; i++) await SplitAsync(part.Slice(i, 1), offset + i, null, cancellationToken).ConfigureAwait(false);
            return;
        }
        var half = part.Length / 2;
        var before = _failures;
        await SplitAsync(part.Slice(0, half), offset, null, cancellationToken).ConfigureAwait(false);
        // The first half ran clean: the failure is in the second half (deterministic function), no need to run it whole.
        await SplitAsync(part.Slice(half, part.Length - half), offset + half, _failures == before ? error : null, cancellationToken).ConfigureAwait(false);
    }

    private DeadLetter Letter(RecordBatch row, int offset, Exception error) =>
        new(stage, OneLine(error), input.Lineage.TaskId, input.Lineage.FirstRow + offset + 1, ArrowRowJson.Of(row, 0), time.GetUtcNow(), onError == OnError.DeadLetter);

    /// <summary>The error's message on one trimmed line, at most 1,000 characters (a stack trace in a message stays readable).</summary>
    internal static string OneLine(Exception error)
    {
        var text = string.Join(' ', error.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        if (string.IsNullOrEmpty(text)) text = error.GetType().Name;
        return text.Length <= 1000 ? text : string.Concat(text.AsSpan(0, 999), "…");
    }
}
