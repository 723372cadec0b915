using Apache.Arrow;

namespace Sluice.Contracts;

/// <summary>Reads a dataset as read tasks with stable ids (a file, a row group, a byte range).</summary>
public abstract class Datasource
{
    /// <summary>A short name for plans and errors, e.g. <c>parquet(data/*.parquet)</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Lists the read tasks. Fails with a located error when inputs are missing.</summary>
    public abstract ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken);

    /// <summary>The schema the source will produce, when it can be known without reading everything.</summary>
    public virtual ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(null);

    /// <summary>
    /// The files this source reads (after <see cref="PlanAsync"/>), for an output's fingerprint and
    /// the check that an output is not inside its own input; null for sources that read no files
    /// (their <see cref="Name"/> then stands for their input).
    /// </summary>
    public virtual DatasourceInputs? DescribeInputs() => null;

    /// <summary>
    /// The input's size and how it splits into read tasks, from metadata and at most a small sample
    /// (synchronous: planning and <c>explain</c> are); null when the source cannot tell, and blocks then
    /// keep a fixed default size.
    /// </summary>
    public virtual SourceEstimate? Estimate() => null;

    /// <summary>What the last read noticed without failing (counted since <see cref="PlanAsync"/>); empty when all was well.</summary>
    public virtual IReadOnlyList<SourceWarning> Warnings => [];
}

/// <summary>One unit of reading. Deterministic: reading it twice yields the same blocks.</summary>
public abstract class ReadTask
{
    /// <summary>Stable id, used for resume and in errors.</summary>
    public abstract string Id { get; }

    /// <summary>Yields the task's rows as batches of at most the given row count.</summary>
    public abstract IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, CancellationToken cancellationToken);
}
