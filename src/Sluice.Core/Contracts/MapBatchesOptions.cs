namespace Sluice.Contracts;

/// <summary>
/// How a batch function or processor runs. Defaults live here and only here; the job spec and the
/// Dataset API both fill this record, and <see cref="Problems"/> names the field that is wrong.
/// </summary>
public sealed record MapBatchesOptions : IValidatedOptions
{
    /// <summary>The operator's name in plans, progress and errors.</summary>
    public string? Name { get; init; }

    /// <summary>Rows per call of the function or processor; null = the whole block.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Actor pool size (processor types only).</summary>
    public PoolSize Pool { get; init; } = new();

    /// <summary>What each actor (or task) holds.</summary>
    public ResourceRequest? Resources { get; init; }

    /// <summary>
    /// Tasks in flight per actor. Two lets the next block's conversion overlap the current model run
    /// while the run itself stays serialized (the processor decides what overlaps).
    /// </summary>
    public int MaxConcurrency { get; init; } = 2;

    /// <summary>Task-pool ops: tasks in flight at once; null = the node's cores.</summary>
    public int? Concurrency { get; init; }

    /// <summary>What the stage does with rows it throws on: fail the job (default), skip them, or write them to <c>_errors/</c>.</summary>
    public OnError OnError { get; init; } = OnError.Fail;

    /// <summary>With skip or dead_letter: the job fails once more rows than this errored in the stage; null = no limit.</summary>
    public long? MaxErroredRows { get; init; }

    /// <summary>
    /// With skip or dead_letter: the job fails when the stage's errored rows exceed this share (0..1) of the rows read,
    /// checked when the input is done (a share of a partial count would fail a job on its first bad batch); null = no limit.
    /// </summary>
    public double? MaxErroredFraction { get; init; }

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (BatchSize is <= 0) yield return new(nameof(BatchSize), BatchSize.Value.ToString(inv), "give a positive row count (e.g. 64) or leave it out for whole blocks");
        if (Pool.Min < 0) yield return new("Pool.Min", Pool.Min.ToString(inv), "give 0 or more");
        if (Pool.Max < 1) yield return new("Pool.Max", Pool.Max.ToString(inv), "give 1 or more");
        if (Pool.Max < Pool.Min) yield return new(nameof(Pool), null, $"max {Pool.Max} is below min {Pool.Min}; give max >= min");
        if (Pool.Initial is { } i && (i < Pool.Min || i > Pool.Max)) yield return new("Pool.Initial", i.ToString(inv), $"give a value in min..max ({Pool})");
        if (MaxConcurrency < 1) yield return new(nameof(MaxConcurrency), MaxConcurrency.ToString(inv), "give 1 or more");
        if (Concurrency is < 1) yield return new(nameof(Concurrency), Concurrency.Value.ToString(inv), "give 1 or more");
        if (MaxErroredRows is < 0) yield return new(nameof(MaxErroredRows), MaxErroredRows.Value.ToString(inv), "give 0 or more rows");
        if (MaxErroredFraction is { } f && (double.IsNaN(f) || f < 0 || f > 1)) yield return new(nameof(MaxErroredFraction), f.ToString(inv), "give a share from 0 to 1 (e.g. 0.01)");
        if (OnError == OnError.Fail && (MaxErroredRows is not null || MaxErroredFraction is not null))
            yield return new(nameof(OnError), "fail", "max_errored_rows and max_errored_fraction apply only with on_error: skip or dead_letter; give one of those or drop the limits");
        if (Resources is { } r && (r.Cpus < 0 || r.Gpus < 0 || r.MemoryBytes < 0)) yield return new(nameof(Resources), r.ToString(), "negative values are not accepted");
    }
}
