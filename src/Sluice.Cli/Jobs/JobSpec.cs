using Sluice.Contracts;
using Sluice.Execution;
using YamlDotNet.RepresentationModel;

namespace Sluice.Cli.Jobs;

/// <summary>A declarative job, as parsed and validated from YAML.</summary>
internal sealed record JobSpec(string Name, ReadSpec Read, IReadOnlyList<StageSpec> Stages, WriteSpec Write, RunSpec Execution);

internal sealed record ReadSpec(string Format, string Path, int BlockRows, int? Parallelism, bool SkipEmpty, string? Delimiter, IReadOnlyDictionary<string, string>? Columns);

/// <summary>One stage: its op, the op's own arguments (read by the op), and how it runs.</summary>
internal sealed record StageSpec(string Name, string Op, string Path, YamlMappingNode Node, MapBatchesOptions Options);

internal sealed record WriteSpec(string Format, string Path, WriteMode Mode);

internal sealed record RunSpec(long? MemoryBudgetBytes, bool PreserveOrder, double? Cpus, long? MemoryBytes, DispatchPolicy Dispatch, TimeSpan? ActorIdleTimeout, int? Gpus = null, int? SimGpus = null, long? SimGpuMemory = null);
