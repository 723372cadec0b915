using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Plan;

namespace Sluice.Execution.Planning;

/// <summary>A physical stage of the plan. Every operator documents when it emits, back-pressures and completes.</summary>
internal abstract record PhysicalOperatorSpec(string Name)
{
    public abstract string Describe();
}

/// <summary>
/// Reads read tasks (with any fused stateless maps applied on the read task).
/// Emits when a read task yields a block. Back-pressures when its output share of the memory budget
/// is full: the reader then does not pull its next block. Completes when every read task has ended.
/// </summary>
internal sealed record SourceSpec(Datasource Source, ReadOptions Options, BlockWork? Fused, IReadOnlyList<string> FusedNames, int Parallelism)
    : PhysicalOperatorSpec(FusedNames.Count == 0 ? $"Read[{Source.Name}]" : $"Read[{Source.Name}]->{string.Join("->", FusedNames)}")
{
    /// <summary>Rows per block and why (set by the planner once it knows the pools downstream).</summary>
    public BlockSize Block { get; init; } = new(Options.BlockRows ?? BlockSizing.FallbackRows, Options.BlockRows is null ? "default" : "read.block_rows");

    /// <summary>What the source told of its size and read tasks; null when it could not.</summary>
    public SourceEstimate? Estimate { get; init; }

    public override string Describe() =>
        $"{Name}  task pool: {Parallelism} read tasks at once, {Block.Rows} rows per block" +
        $"{Environment.NewLine}       block size: {Block.Reason}" +
        (Estimate is { } e ? $"{Environment.NewLine}       read tasks: {e.ReadTasks}; {e.Splitting}" : "");
}

/// <summary>
/// A stateless function on a task pool. Emits one block per input block. Back-pressures when its output
/// share is full or <see cref="Concurrency"/> tasks run. Completes when its input is done and drained.
/// </summary>
internal sealed record TaskMapSpec(string Name, BlockWork Work, int Concurrency, ResourceRequest Resources) : PhysicalOperatorSpec(Name)
{
    public override string Describe() => $"{Name}  task pool: {Concurrency} tasks at once, per task {Resources}";
}

/// <summary>
/// A processor on an elastic actor pool; each actor initializes its processor (loads its model) once.
/// Emits one block per input block (a block cut into slices is one block per slice). Back-pressures when its output
/// share is full or every actor slot is taken. Completes when its input is done and drained; then its actors are released.
/// </summary>
internal sealed record ActorMapSpec(string Name, Func<IBatchProcessor> Create, string TypeName, MapBatchesOptions Options, ResourceRequest Resources,
    ProcessorDescriptor? Descriptor = null)
    : PhysicalOperatorSpec(Name)
{
    public override string Describe() =>
        $"{Name} ({TypeName})  actor pool {Options.Pool}, batch {(Options.BatchSize?.ToString() ?? "block")}, max_concurrency {Options.MaxConcurrency}, per actor {Resources}"
        + (Options.BatchSize is { } b
            ? $"; blocks cut into slices of whole batches of {b} when actors are free, small blocks coalesced up to {b} rows when blocks wait"
            : "; blocks run whole (give batch_size to let blocks be cut or coalesced)");
}

/// <summary>
/// Writes each block exactly once. Emits nothing. Back-pressures when <see cref="Concurrency"/> writes run.
/// Completes when its input is done and drained; then it marks the output complete.
/// </summary>
internal sealed record SinkSpec(Datasink Sink, int Concurrency) : PhysicalOperatorSpec($"Write[{Sink.Name}]")
{
    public override string Describe() => $"{Name}  task pool: {Concurrency} writes at once, temp file + rename, manifest";
}
