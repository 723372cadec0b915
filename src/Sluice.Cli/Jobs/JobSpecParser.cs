using Sluice.Contracts;
using Sluice.Execution;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sluice.Cli.Jobs;

/// <summary>A job spec that cannot run as written: every problem, each naming the field.</summary>
internal sealed class SpecException(IReadOnlyList<string> errors)
    : SluiceException("the job spec is not valid:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
{
    public IReadOnlyList<string> Errors => errors;
}

/// <summary>Parses and validates a YAML job spec (after applying <c>--set</c> overrides).</summary>
internal static class JobSpecParser
{
    public static readonly string[] ReadFormats = ["parquet", "csv", "jsonl", "text"];
    public static readonly string[] WriteFormats = ["parquet", "jsonl"];
    private static readonly string[] TopFields = ["name", "read", "stages", "write", "execution"];
    private static readonly string[] ReadFields = ["format", "path", "block_rows", "parallelism", "skip_empty", "delimiter", "columns"];
    private static readonly string[] WriteFields = ["format", "path", "mode"];
    private static readonly string[] ExecutionFields = ["memory_budget", "preserve_order", "cpus", "gpus", "sim_gpus", "sim_gpu_memory", "memory", "dispatch", "actor_idle_timeout_s"];
    private static readonly string[] StageFields = ["name", "op", "batch_size", "pool", "resources", "max_concurrency", "concurrency"];

    public static (JobSpec Spec, Func<Dataset> Build) ParseFile(string file, IReadOnlyList<string> overrides)
    {
        if (!File.Exists(file)) throw new SluiceException($"job spec '{file}' does not exist; give the path of a YAML job file (see examples/)");
        return Parse(File.ReadAllText(file), file, overrides);
    }

    public static (JobSpec Spec, Func<Dataset> Build) Parse(string yaml, string file, IReadOnlyList<string> overrides)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new SpecException([$"{file} line {e.Start.Line}: not valid YAML: {e.InnerException?.Message ?? e.Message}"]);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this on some unterminated flow collections.
            throw new SpecException([$"{file}: not valid YAML ({e.Message}); check for an unclosed {{ or ["]);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException([$"{file}: the spec must be a mapping with read, stages and write"]);
        var reader = new SpecReader(file);
        Overrides.Apply(root, overrides, reader);
        if (reader.Errors.Count > 0) throw new SpecException(reader.Errors);

        reader.CheckKeys(root, "", TopFields);
        var name = reader.String(root, "name", "", required: false) ?? Path.GetFileNameWithoutExtension(file);
        var read = ParseRead(reader, root);
        var write = ParseWrite(reader, root);
        var run = ParseExecution(reader, root);
        var stages = new List<StageSpec>();
        var binds = new List<Func<Dataset, Dataset>>();
        reader.Run = run;
        ParseStages(reader, root, stages, binds);
        if (reader.Errors.Count > 0) throw new SpecException(reader.Errors);
        var spec = new JobSpec(name, read!, stages, write!, run);
        return (spec, () => binds.Aggregate(JobBuilder.Read(spec.Read), (ds, bind) => bind(ds)));
    }

    private static ReadSpec? ParseRead(SpecReader r, YamlMappingNode root)
    {
        var node = r.Map(root, "read", "", required: true);
        if (node is null) return null;
        r.CheckKeys(node, "read", ReadFields);
        var format = r.Choice(node, "format", "read", ReadFormats, required: true);
        var path = r.String(node, "path", "read", required: true, accepted: "a file, a directory or a glob such as data/*.parquet");
        var columns = r.Map(node, "columns", "read", required: false)?.Children
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => (kv.Value as YamlScalarNode)?.Value ?? "");
        if (columns is not null && format != "csv") r.Error(SpecReader.Node(node, "columns"), "read.columns", "applies to format csv only");
        return new ReadSpec(format ?? "", path ?? "", r.Int(node, "block_rows", "read", min: 1) ?? new Plan.ReadOptions().BlockRows,
            r.Int(node, "parallelism", "read", min: 1), r.Bool(node, "skip_empty", "read") ?? false, r.String(node, "delimiter", "read", required: false), columns);
    }

    private static WriteSpec? ParseWrite(SpecReader r, YamlMappingNode root)
    {
        var node = r.Map(root, "write", "", required: true);
        if (node is null) return null;
        r.CheckKeys(node, "write", WriteFields);
        var format = r.Choice(node, "format", "write", WriteFormats, required: true);
        var path = r.String(node, "path", "write", required: true, accepted: "an output directory");
        var mode = r.Choice(node, "mode", "write", ["error", "overwrite", "resume"], required: false) switch
        {
            "overwrite" => WriteMode.Overwrite,
            "resume" => WriteMode.Resume,
            _ => WriteMode.ErrorIfExists,
        };
        return new WriteSpec(format ?? "", path ?? "", mode);
    }

    private static RunSpec ParseExecution(SpecReader r, YamlMappingNode root)
    {
        var node = r.Map(root, "execution", "", required: false);
        if (node is null) return new RunSpec(null, false, null, null, DispatchPolicy.MostRecentlyUsed, null);
        r.CheckKeys(node, "execution", ExecutionFields);
        var dispatch = r.Choice(node, "dispatch", "execution", ["mru", "least_loaded"], required: false);
        var idle = r.Double(node, "actor_idle_timeout_s", "execution");
        var simGpus = r.Int(node, "sim_gpus", "execution", min: 0);
        var simGpuMemory = r.Bytes(node, "sim_gpu_memory", "execution");
        if (simGpuMemory is not null && simGpus is not > 0)
            r.Error(SpecReader.Node(node, "sim_gpu_memory"), "execution.sim_gpu_memory", "is the memory of each simulated GPU: give execution.sim_gpus too (e.g. sim_gpus: 4)");
        return new RunSpec(r.Bytes(node, "memory_budget", "execution"), r.Bool(node, "preserve_order", "execution") ?? false,
            r.Double(node, "cpus", "execution", min: 0.01), r.Bytes(node, "memory", "execution"),
            dispatch == "least_loaded" ? DispatchPolicy.LeastLoaded : DispatchPolicy.MostRecentlyUsed,
            idle is { } s ? TimeSpan.FromSeconds(s) : null, r.Int(node, "gpus", "execution", min: 0), simGpus, simGpuMemory);
    }

    private static void ParseStages(SpecReader r, YamlMappingNode root, List<StageSpec> stages, List<Func<Dataset, Dataset>> binds)
    {
        var node = SpecReader.Node(root, "stages");
        if (node is null) return;
        if (node is not YamlSequenceNode seq)
        {
            r.Error(node, "stages", "must be a list of stages (- name: ..., op: ...)");
            return;
        }
        var names = new HashSet<string>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var path = $"stages[{i}]";
            if (seq.Children[i] is not YamlMappingNode s)
            {
                r.Error(seq.Children[i], path, "must be a mapping with name and op");
                continue;
            }
            var opName = r.Choice(s, "op", path, StageOp.All.Keys.ToList(), required: true);
            var name = r.String(s, "name", path, required: false) ?? opName ?? $"stage{i}";
            if (!names.Add(name)) r.Error(SpecReader.Node(s, "name"), $"{path}.name", $"'{name}' is used by another stage; give each stage its own name");
            if (opName is null) continue;
            var op = StageOp.All[opName];
            r.CheckKeys(s, path, [.. StageFields, .. op.Fields]);
            var options = ParseRunOptions(r, s, path, name, op);
            var stage = new StageSpec(name, opName, path, s, options);
            var bind = op.Bind(stage, r);
            stages.Add(stage);
            if (bind is not null) binds.Add(bind);
        }
    }

    private static MapBatchesOptions ParseRunOptions(SpecReader r, YamlMappingNode s, string path, string name, StageOp op)
    {
        var defaults = new MapBatchesOptions();
        var options = defaults with
        {
            Name = name,
            BatchSize = r.Int(s, "batch_size", path, min: 1),
            Pool = ParsePool(r, s, path, defaults.Pool),
            Resources = ParseResources(r, s, path, op.DefaultResources),
            MaxConcurrency = r.Int(s, "max_concurrency", path, min: 1) ?? defaults.MaxConcurrency,
            Concurrency = r.Int(s, "concurrency", path, min: 1),
        };
        return Validated(r, s, path, options);
    }

    /// <summary>The fields one part of a partitioned stage may set for itself (<c>partition.parts[i]</c>); the rest it inherits from its stage.</summary>
    internal static readonly string[] PartFields = ["batch_size", "pool", "resources", "max_concurrency"];

    /// <summary>A part's own pool, resources, batch size and max_concurrency over the stage's.</summary>
    internal static MapBatchesOptions ParsePartOptions(SpecReader r, YamlMappingNode part, string path, MapBatchesOptions stage)
    {
        r.CheckKeys(part, path, PartFields);
        var options = stage with
        {
            BatchSize = r.Int(part, "batch_size", path, min: 1) ?? stage.BatchSize,
            Pool = ParsePool(r, part, path, stage.Pool),
            Resources = ParseResources(r, part, path, stage.Resources),
            MaxConcurrency = r.Int(part, "max_concurrency", path, min: 1) ?? stage.MaxConcurrency,
        };
        return Validated(r, part, path, options);
    }

    private static PoolSize ParsePool(SpecReader r, YamlMappingNode s, string path, PoolSize fallback)
    {
        var defaults = new MapBatchesOptions().Pool;
        var pool = r.Map(s, "pool", path, required: false);
        if (pool is null) return fallback;
        var poolPath = $"{path}.pool";
        r.CheckKeys(pool, poolPath, ["min", "max", "initial"]);
        var min = r.Int(pool, "min", poolPath, min: 0) ?? defaults.Min;
        var max = r.Int(pool, "max", poolPath, min: 1) ?? Math.Max(min, defaults.Max);
        return new PoolSize(min, max, r.Int(pool, "initial", poolPath, min: 0));
    }

    private static ResourceRequest? ParseResources(SpecReader r, YamlMappingNode s, string path, ResourceRequest? fallback)
    {
        var res = r.Map(s, "resources", path, required: false);
        if (res is null) return fallback;
        var resPath = $"{path}.resources";
        r.CheckKeys(res, resPath, ["cpus", "gpus", "memory"]);
        return new ResourceRequest(r.Double(res, "cpus", resPath) ?? 0, r.Double(res, "gpus", resPath) ?? 0, r.Bytes(res, "memory", resPath) ?? 0);
    }

    private static MapBatchesOptions Validated(SpecReader r, YamlMappingNode s, string path, MapBatchesOptions options)
    {
        foreach (var e in options.Validate(path))
        {
            var colon = e.IndexOf(':', StringComparison.Ordinal);
            r.Error(s, e[..colon], e[(colon + 1)..].Trim());
        }
        return options;
    }
}
