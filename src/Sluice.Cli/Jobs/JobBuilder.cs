using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;
using Sluice.Plan;

namespace Sluice.Cli.Jobs;

/// <summary>Turns a validated spec into the library's values: a dataset, a sink and execution options.</summary>
internal static class JobBuilder
{
    public static Dataset Read(ReadSpec read)
    {
        var options = new ReadOptions { BlockRows = read.BlockRows, Parallelism = read.Parallelism };
        var source = read.Format switch
        {
            "parquet" => Sources.Parquet(read.Path),
            "csv" => Sources.Csv(read.Path, CsvOptionsOf(read)),
            "jsonl" => Sources.JsonLines(read.Path),
            "text" => Sources.Text(read.Path, read.SkipEmpty),
            _ => throw new SluiceException($"read.format: '{read.Format}' is not accepted; give one of: {string.Join(", ", JobSpecParser.ReadFormats)}"),
        };
        return Dataset.Read(source, options);
    }

    private static CsvOptions CsvOptionsOf(ReadSpec read)
    {
        var csv = new CsvOptions();
        if (read.Delimiter is { Length: 1 } d) csv = csv with { Delimiter = d[0] };
        if (read.Columns is { } columns) csv = csv with { ColumnTypes = columns };
        return csv;
    }

    public static Datasink Sink(WriteSpec write) => write.Format switch
    {
        "parquet" => Sinks.Parquet(write.Path),
        "jsonl" => Sinks.JsonLines(write.Path),
        _ => throw new SluiceException($"write.format: '{write.Format}' is not accepted; give one of: {string.Join(", ", JobSpecParser.WriteFormats)}"),
    };

    private static NodeResources Node(NodeResources node, RunSpec run) => run.SimGpus is { } sim ? node.WithSimulatedGpus(sim, run.SimGpuMemory ?? 0) : node;

    /// <summary>Memory of each GPU this job's node has: simulated (execution.sim_gpu_memory) or detected; 0 where unknown.</summary>
    public static long DeviceMemory(RunSpec run) =>
        run.SimGpus is > 0 ? run.SimGpuMemory ?? 0 : NodeResources.Detect().GpuMemoryBytes;

    public static ExecutionOptions Options(JobSpec spec, WriteMode? modeOverride)
    {
        var detected = NodeResources.Detect();
        var run = spec.Execution;
        return new ExecutionOptions
        {
            MemoryBudgetBytes = run.MemoryBudgetBytes,
            PreserveOrder = run.PreserveOrder,
            WriteMode = modeOverride ?? spec.Write.Mode,
            Resources = Node(detected with { Cpus = run.Cpus ?? detected.Cpus, Gpus = run.Gpus ?? detected.Gpus, MemoryBytes = run.MemoryBytes ?? detected.MemoryBytes }, run),
            Dispatch = run.Dispatch,
            ActorIdleTimeout = run.ActorIdleTimeout ?? new ExecutionOptions().ActorIdleTimeout,
        };
    }
}
