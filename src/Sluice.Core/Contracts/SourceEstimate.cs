namespace Sluice.Contracts;

/// <summary>
/// What a datasource can tell about its size before reading it: the planner sizes blocks from it
/// (Execution knows pools, not files), and <c>explain</c> shows how the input is split.
/// </summary>
/// <param name="Bytes">The input's bytes (file sizes; for Parquet, compressed).</param>
/// <param name="Rows">Rows, exact (Parquet metadata) or estimated from a sample; null when unknown.</param>
/// <param name="ReadTasks">The read tasks <see cref="Datasource.PlanAsync"/> will list.</param>
/// <param name="Splitting">How the input becomes read tasks, in words (e.g. <c>1 file in 4 line-aligned byte ranges of at most 32 MiB</c>).</param>
public sealed record SourceEstimate(long Bytes, long? Rows, int ReadTasks, string Splitting);
