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
        if (Resources is { } r && (r.Cpus < 0 || r.Gpus < 0 || r.MemoryBytes < 0)) yield return new(nameof(Resources), r.ToString(), "negative values are not accepted");
    }
}
