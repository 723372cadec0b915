using System.Globalization;
using Sluice.Contracts;

namespace Sluice.Execution.Stats;

/// <summary>
/// How far a job is, and the time it should still take, where the input's size is known before reading it
/// (<see cref="Datasource.Estimate"/>): rows written over the input's rows (exact for Parquet, from a sample of lines
/// for text, JSON Lines and CSV). A resumed job counts only the rows it writes itself, so it reads low.
/// </summary>
/// <param name="Fraction">0..1; below 1 until the job is done, whatever a sampled row count says.</param>
/// <param name="Remaining">At the rate so far; null until the job has done enough to tell.</param>
/// <param name="Basis">What the fraction counts, in words ("1,200 of ~4,000 rows").</param>
public sealed record ProgressEstimate(double Fraction, TimeSpan? Remaining, string Basis)
{
    /// <summary>Below this much done, the rate so far says little (model loads, the pipeline filling): no time is given.</summary>
    private const double LeastToEstimate = 0.02;

    /// <summary>A sampled row count may be short: the fraction stays below 1 until the last stage is done.</summary>
    private const double MostBeforeDone = 0.99;

    /// <summary>The progress in <paramref name="s"/>, or null when <paramref name="input"/> tells no size.</summary>
    public static ProgressEstimate? Of(ExecutionSnapshot s, SourceEstimate? input)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (input is null || s.Operators.Count == 0) return null;
        if (input.Rows is not (> 0 and var rows)) return null;
        var last = s.Operators[^1];
        var fraction = last.RowsOut / (double)rows;
        var basis = string.Create(CultureInfo.InvariantCulture, $"{last.RowsOut:N0} of ~{rows:N0} rows");
        if (last.Done) return new ProgressEstimate(1, TimeSpan.Zero, basis);
        fraction = Math.Clamp(fraction, 0, MostBeforeDone);
        TimeSpan? remaining = fraction >= LeastToEstimate ? s.Elapsed * ((1 - fraction) / fraction) : null;
        return new ProgressEstimate(fraction, remaining, basis);
    }
}
