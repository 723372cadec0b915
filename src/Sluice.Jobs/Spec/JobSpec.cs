using System.Text.Json.Serialization;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Jobs.Binding;
using Sluice.Plan;

namespace Sluice.Jobs;

/// <summary>A job as bound from a spec: its parts, and how to build the dataset, the sink and the execution options.</summary>
public sealed record JobSpec(string Name, ReadSpec Read, IReadOnlyList<StageSpec> Stages, WriteSpec Write, ExecutionSpec Execution)
{
    internal Datasource Source { get; init; } = null!;

    internal WriteFormat WriteFormat { get; init; } = null!;

    /// <summary>The write format's own options, as bound from the spec.</summary>
    internal object WriteOptions { get; init; } = null!;

    /// <summary>This node as detected when the spec was bound: the one detection a spec costs (device probes are not repeated).</summary>
    public NodeResources Node { get; init; } = null!;

    /// <summary>The job files the spec gives as URLs: where each came from and the local copy the job uses.</summary>
    public IReadOnlyList<SpecObjectFile> ObjectFiles { get; init; } = [];

    /// <summary>The dataset: the read, then each stage.</summary>
    public Dataset Dataset() => Stages.Aggregate(Sluice.Dataset.Read(Source, Read.Options), (ds, stage) => stage.Plan.Append(ds));

    /// <summary>Where URLs of this spec are fetched from and written to (S3 endpoint, region, cache).</summary>
    internal Sluice.IO.ObjectStorage.ObjectFileOptions ObjectFileOptions { get; init; } = new();

    /// <summary>The output: a file format's sink writes an <c>s3://</c> path through the spec's S3 settings.</summary>
    public Datasink Sink() => WriteFormat.Create(Write.Path,
        WriteOptions is Sluice.IO.FileSinkOptions file ? file with { ObjectStorage = ObjectFileOptions } : WriteOptions);

    /// <summary>Execution options for this node: the spec's settings over what the node detected.</summary>
    public ExecutionOptions Options(WriteMode? modeOverride = null) =>
        Execution.ToOptions(Node) with { WriteMode = modeOverride ?? Write.Mode, JobName = Name };
}

/// <summary>The <c>read</c> section: a format, a path, and how blocks are cut (<see cref="ReadOptions"/>).</summary>
public sealed record ReadSpec(string Format, string Path, ReadOptions Options)
{
    /// <summary>The fields of every read format: format, path, and those of <see cref="ReadOptions"/>.</summary>
    public static IReadOnlyList<string> SharedFields { get; } = ["format", "path", .. OptionField.Of(typeof(ReadOptions)).Select(f => f.Name)];
}

/// <summary>One bound stage.</summary>
public sealed record StageSpec(string Name, string Op, string Path, MapBatchesOptions Run, StagePlan Plan);

/// <summary>The <c>write</c> section.</summary>
/// <param name="Format">A registered write format.</param>
/// <param name="Path">The output directory.</param>
/// <param name="Mode">error (refuse existing output), overwrite or resume.</param>
public sealed record WriteSpec(string Format, string Path, WriteMode Mode = WriteMode.ErrorIfExists)
{
    /// <summary>The fields of every write format: format, path and mode; the rest belong to the format's options record.</summary>
    public static IReadOnlyList<string> SharedFields { get; } = [.. OptionField.Of(typeof(WriteSpec)).Select(f => f.Name)];
}

/// <summary>
/// The <c>execution</c> section: each field left out takes the library's default (<see cref="ExecutionOptions"/>)
/// or what the node detects.
/// </summary>
public sealed record ExecutionSpec : IValidatedOptions
{
    /// <summary>Bytes of blocks in flight; default: a share of the node's memory.</summary>
    [ByteSize]
    public long? MemoryBudget { get; init; }

    public bool? PreserveOrder { get; init; }

    /// <summary>Cores this node offers; default: detected.</summary>
    public double? Cpus { get; init; }

    /// <summary>GPUs this node offers; default: detected.</summary>
    public int? Gpus { get; init; }

    /// <summary>Simulated GPUs (they exist only in time), instead of real ones.</summary>
    public int? SimGpus { get; init; }

    /// <summary>Memory of each simulated GPU.</summary>
    [ByteSize]
    public long? SimGpuMemory { get; init; }

    /// <summary>Memory this node offers; default: detected.</summary>
    [ByteSize]
    public long? Memory { get; init; }

    public DispatchPolicy? Dispatch { get; init; }

    [JsonPropertyName("actor_idle_timeout_s")]
    public double? ActorIdleTimeoutSeconds { get; init; }

    /// <summary>Stop the job (resumable) once it has run this many seconds.</summary>
    [JsonPropertyName("timeout_s")]
    public double? TimeoutSeconds { get; init; }

    /// <summary>Stop the job (resumable) after this many seconds without progress, saying which stage is stuck on what.</summary>
    [JsonPropertyName("no_progress_timeout_s")]
    public double? NoProgressTimeoutSeconds { get; init; }

    /// <summary>Backup copies of straggling tasks and suspicion of stuck nodes; each field left out takes <see cref="SpeculationOptions"/>' default.</summary>
    public SpeculationSpec? Speculation { get; init; }

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (Cpus is { } c && !(c > 0)) yield return new(nameof(Cpus), c.ToString(inv), "give a number of cores above 0 (e.g. 0.5, 8), or leave it out to use the detected cores");
        if (Gpus is < 0) yield return new(nameof(Gpus), Gpus.Value.ToString(inv), "give 0 or more");
        if (SimGpus is < 0) yield return new(nameof(SimGpus), SimGpus.Value.ToString(inv), "give 0 or more");
        if (ActorIdleTimeoutSeconds is { } t && !(t >= 0)) yield return new(nameof(ActorIdleTimeoutSeconds), t.ToString(inv), "give 0 or more seconds");
        if (TimeoutSeconds is { } limit && !(limit > 0)) yield return new(nameof(TimeoutSeconds), limit.ToString(inv), "give a number of seconds above 0, or leave it out for no limit");
        if (NoProgressTimeoutSeconds is { } idle && !(idle > 0)) yield return new(nameof(NoProgressTimeoutSeconds), idle.ToString(inv), "give a number of seconds above 0, or leave it out to wait for progress forever");
    }

    /// <summary>Memory of each GPU this job's node has: simulated or detected; 0 where unknown.</summary>
    public long DeviceMemory(NodeResources detected) => SimGpus is > 0 ? SimGpuMemory ?? 0 : ArgumentValidation.NotNull(detected).GpuMemoryBytes;

    public NodeResources Node(NodeResources detected)
    {
        ArgumentNullException.ThrowIfNull(detected);
        var node = detected with { Cpus = Cpus ?? detected.Cpus, Gpus = Gpus ?? detected.Gpus, MemoryBytes = Memory ?? detected.MemoryBytes };
        return SimGpus is { } sim ? node.WithSimulatedGpus(sim, SimGpuMemory ?? 0) : node;
    }

    public ExecutionOptions ToOptions(NodeResources detected)
    {
        var defaults = new ExecutionOptions();
        return defaults with
        {
            MemoryBudgetBytes = MemoryBudget ?? defaults.MemoryBudgetBytes,
            PreserveOrder = PreserveOrder ?? defaults.PreserveOrder,
            Resources = Node(detected),
            Dispatch = Dispatch ?? defaults.Dispatch,
            ActorIdleTimeout = ActorIdleTimeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : defaults.ActorIdleTimeout,
            Timeout = TimeoutSeconds is { } limit ? TimeSpan.FromSeconds(limit) : defaults.Timeout,
            NoProgressTimeout = NoProgressTimeoutSeconds is { } idle ? TimeSpan.FromSeconds(idle) : defaults.NoProgressTimeout,
            Speculation = Speculation?.ToOptions(defaults.Speculation) ?? defaults.Speculation,
        };
    }
}

/// <summary>The <c>execution.speculation</c> block: <c>{ enabled, multiplier, min_s, min_samples }</c>.</summary>
public sealed record SpeculationSpec : IValidatedOptions
{
    public bool? Enabled { get; init; }

    /// <summary>A task is a straggler past this many times its pool's median task duration.</summary>
    public double? Multiplier { get; init; }

    /// <summary>Never a straggler before this many seconds.</summary>
    [JsonPropertyName("min_s")]
    public double? MinSeconds { get; init; }

    /// <summary>Finished tasks a pool needs before anything is speculated.</summary>
    public int? MinSamples { get; init; }

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (Multiplier is { } m && !(m >= 1)) yield return new(nameof(Multiplier), m.ToString(inv), "give 1 or more: how many times the pool's median task duration makes a straggler (e.g. 3)");
        if (MinSeconds is { } s && !(s >= 0)) yield return new(nameof(MinSeconds), s.ToString(inv), "give 0 or more seconds (e.g. 2)");
        if (MinSamples is < 1) yield return new(nameof(MinSamples), MinSamples.Value.ToString(inv), "give 1 or more finished tasks");
    }

    public SpeculationOptions ToOptions(SpeculationOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return defaults with
        {
            Enabled = Enabled ?? defaults.Enabled,
            Multiplier = Multiplier ?? defaults.Multiplier,
            Floor = MinSeconds is { } s ? TimeSpan.FromSeconds(s) : defaults.Floor,
            MinSamples = MinSamples ?? defaults.MinSamples,
        };
    }
}
