using Sluice.Contracts;
using Sluice.Execution.Simulation;
using Sluice.Inference;
using Sluice.Inference.Partitioning;
using YamlDotNet.RepresentationModel;

namespace Sluice.Cli.Jobs;

/// <summary>An op a job stage can name: its own fields, its defaults, and how it becomes a dataset stage.</summary>
internal abstract class StageOp
{
    public static IReadOnlyDictionary<string, StageOp> All { get; } = new StageOp[] { new BertTokenizeOp(), new OnnxOp(), new SimulateOp() }.ToDictionary(o => o.Name);

    public abstract string Name { get; }

    public abstract IReadOnlyCollection<string> Fields { get; }

    /// <summary>What each actor holds when the stage gives no resources.</summary>
    public abstract ResourceRequest DefaultResources { get; }

    /// <summary>Validates the op's fields; returns how to append the stage, or null when a field is wrong (errors recorded).</summary>
    public abstract Func<Dataset, Dataset>? Bind(StageSpec stage, SpecReader reader);

    protected static string? ExistingFile(SpecReader reader, YamlMappingNode node, string key, string path, string what)
    {
        var file = reader.String(node, key, path, required: true, accepted: $"the path of {what}");
        if (file is not null && !File.Exists(file))
            reader.Error(SpecReader.Node(node, key), SpecReader.Join(path, key), $"file '{file}' does not exist; give the path of {what} (export the built-in one with `sluice models export minilm --out models/minilm`)");
        return file;
    }
}

/// <summary><c>bert_tokenize</c>: WordPiece ids, mask and type ids as tensor columns.</summary>
internal sealed class BertTokenizeOp : StageOp
{
    public override string Name => "bert_tokenize";

    public override IReadOnlyCollection<string> Fields { get; } = ["vocab", "column", "max_length", "lowercase"];

    /// <summary>Tokenizing costs ~0.2% of a core next to the model (DESIGN.md §5): it takes no budgeted core.</summary>
    public override ResourceRequest DefaultResources => ResourceRequest.None;

    public override Func<Dataset, Dataset>? Bind(StageSpec stage, SpecReader reader)
    {
        var vocab = ExistingFile(reader, stage.Node, "vocab", stage.Path, "a BERT vocab.txt");
        var column = reader.String(stage.Node, "column", stage.Path, required: false) ?? "text";
        var maxLength = reader.Int(stage.Node, "max_length", stage.Path, min: 2) ?? 128;
        var lowercase = reader.Bool(stage.Node, "lowercase", stage.Path) ?? true;
        if (vocab is null) return null;
        var options = new BertTokenizeOptions(vocab, column, maxLength, lowercase);
        return ds => ds.MapBatches<BertTokenizeProcessor, BertTokenizeOptions>(options, stage.Options);
    }
}

/// <summary><c>onnx</c>: runs an ONNX model over tensor columns, optionally mean-pooling to one vector per row.</summary>
internal sealed class OnnxOp : StageOp
{
    public override string Name => "onnx";

    public override IReadOnlyCollection<string> Fields { get; } =
        ["model", "inputs", "outputs", "pooling", "pooling_output", "normalize", "output_column", "keep_inputs", "trim_padding", "threads", "provider", "partition", "tensor_parallel"];

    public override ResourceRequest DefaultResources => ResourceRequest.OneCpu;

    public override Func<Dataset, Dataset>? Bind(StageSpec stage, SpecReader reader)
    {
        var n = stage.Node;
        var p = stage.Path;
        var model = ExistingFile(reader, n, "model", p, "an .onnx model");
        var pooling = reader.Choice(n, "pooling", p, ["none", "mean"], required: false) ?? "none";
        var provider = reader.Choice(n, "provider", p, OnnxOptions.ExecutionProviders, required: false) ?? OnnxOptions.AutoProvider;
        var options = new OnnxOptions(model ?? "")
        {
            Inputs = Names(reader, n, "inputs", p),
            Outputs = Names(reader, n, "outputs", p),
            Pooling = pooling == "mean" ? Pooling.Mean : Pooling.None,
            PoolingOutput = reader.String(n, "pooling_output", p, required: false),
            Normalize = reader.Bool(n, "normalize", p),
            OutputColumn = reader.String(n, "output_column", p, required: false) ?? "embedding",
            DropInputs = !(reader.Bool(n, "keep_inputs", p) ?? false),
            TrimPadding = reader.Bool(n, "trim_padding", p) ?? true,
            IntraOpThreads = reader.Int(n, "threads", p, min: 1),
            ExecutionProvider = provider,
            TensorParallel = reader.Int(n, "tensor_parallel", p, min: 1) ?? 1,
        };
        if (options.Normalize == true && options.Pooling == Pooling.None)
            reader.Error(SpecReader.Node(n, "normalize"), SpecReader.Join(p, "normalize"), "true needs pooling: mean (only pooled vectors are normalized)");
        if (model is null) return null;
        var partition = SpecReader.Node(n, "partition");
        if (partition is null or YamlScalarNode { Value: "none" }) return ds => ds.MapBatches<OnnxProcessor, OnnxOptions>(options, stage.Options);
        if (options.TensorParallel > 1)
        {
            reader.Error(SpecReader.Node(n, "tensor_parallel"), SpecReader.Join(p, "tensor_parallel"), "cannot be combined with partition; give one of them");
            return null;
        }
        switch (partition)
        {
            case YamlScalarNode { Value: "auto" }:
                return Auto(stage, reader, model, options);
            case YamlMappingNode map:
                return FromSpec(stage, reader, map, model, options);
            default:
                reader.Error(partition, SpecReader.Join(p, "partition"), $"'{(partition as YamlScalarNode)?.Value ?? "a list"}' is not accepted; give auto (the fewest stages that fit a GPU), none (the model whole), or a mapping: {{ stages: K }}, {{ max_stage_bytes: B }} or {{ plan: DIR }}");
                return null;
        }
    }

    /// <summary>
    /// <c>partition: auto</c>: as many pipeline stages as it takes, and no more, for each to fit one GPU of this job's
    /// node (execution.sim_gpu_memory, or the detected device memory); the model whole when it already fits.
    /// </summary>
    private static Func<Dataset, Dataset>? Auto(StageSpec stage, SpecReader reader, string model, OnnxOptions whole)
    {
        var path = SpecReader.Join(stage.Path, "partition");
        var node = SpecReader.Node(stage.Node, "partition");
        var device = reader.Run is { } run ? JobBuilder.DeviceMemory(run) : 0;
        if (device <= 0)
        {
            reader.Error(node, path, "auto needs the memory of a GPU, and this node states none: give execution.sim_gpu_memory (with sim_gpus), or partition: { stages: K } or { max_stage_bytes: B }");
            return null;
        }
        if (new FileInfo(model).Length <= device) return ds => ds.MapBatches<OnnxProcessor, OnnxOptions>(whole, stage.Options);
        return Cached(stage, reader, node, model, whole, new PartitionOptions(MaxStageBytes: device), null);
    }

    /// <summary>
    /// <c>partition: { stages: K }</c>, <c>{ max_stage_bytes: B }</c> or <c>{ plan: DIR }</c> (a plan written by
    /// <c>sluice partition</c>): the model is cut into pipeline stages (cached beside it under .partitions/), each
    /// its own operator <c>name.i</c>, joined by the same bounded queues; boundary tensors travel as tensor columns.
    /// Each part has the stage's pool and resources unless <c>parts: [ {resources, pool, batch_size,
    /// max_concurrency}, ... ]</c> (one entry per part) gives it its own.
    /// </summary>
    private static Func<Dataset, Dataset>? FromSpec(StageSpec stage, SpecReader reader, YamlMappingNode partition, string model, OnnxOptions whole)
    {
        var path = SpecReader.Join(stage.Path, "partition");
        reader.CheckKeys(partition, path, ["stages", "max_stage_bytes", "balance", "plan", "parts"]);
        var stages = reader.Int(partition, "stages", path, min: 2);
        var maxBytes = reader.Bytes(partition, "max_stage_bytes", path);
        var planDir = reader.String(partition, "plan", path, required: false, accepted: "the directory `sluice partition --out` wrote (or its plan.json)");
        var balance = reader.Choice(partition, "balance", path, ["params", "latency"], required: false) == "latency" ? PartitionBalance.Latency : PartitionBalance.Params;
        if ((stages is null ? 0 : 1) + (maxBytes is null ? 0 : 1) + (planDir is null ? 0 : 1) != 1)
        {
            reader.Error(partition, path, "give exactly one of stages (e.g. 3), max_stage_bytes (e.g. 40MiB) or plan (a directory written by sluice partition)");
            return null;
        }
        var parts = Parts(stage, reader, partition, path);
        return planDir is not null
            ? FromPlan(stage, reader, partition, path, planDir, whole, parts)
            : Cached(stage, reader, partition, model, whole, new PartitionOptions(stages, maxBytes, balance), parts);
    }

    /// <summary>The model cut as <paramref name="options"/> say, the plan and stage models cached beside it (remade when the model is newer).</summary>
    private static Func<Dataset, Dataset>? Cached(StageSpec stage, SpecReader reader, YamlNode? at, string model, OnnxOptions whole, PartitionOptions options,
        List<MapBatchesOptions>? parts)
    {
        var path = SpecReader.Join(stage.Path, "partition");
        var key = options.Stages is { } k ? $"stages{k}" : $"max{options.MaxStageBytes}";
        var dir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, ".partitions", $"{Path.GetFileNameWithoutExtension(model)}-{key}-{options.Balance.ToString().ToLowerInvariant()}");
        PartitionPlan plan;
        try
        {
            var planFile = Path.Combine(dir, PartitionPlan.FileName);
            plan = File.Exists(planFile) && File.GetLastWriteTimeUtc(planFile) >= File.GetLastWriteTimeUtc(model)
                ? PartitionPlan.FromJson(File.ReadAllText(planFile))
                : ModelPartitioner.Write(model, options, dir);
        }
        catch (SluiceException e)
        {
            reader.Error(at, path, e.Message);
            return null;
        }
        return Stages(stage, reader, at, path, plan, dir, whole, parts);
    }

    /// <summary><c>partition: { plan: DIR }</c>: the stages of a plan written by <c>sluice partition</c>.</summary>
    private static Func<Dataset, Dataset>? FromPlan(StageSpec stage, SpecReader reader, YamlMappingNode partition, string path, string planDir, OnnxOptions whole,
        List<MapBatchesOptions>? parts)
    {
        var dir = Path.GetFileName(planDir) == PartitionPlan.FileName ? Path.GetDirectoryName(Path.GetFullPath(planDir))! : Path.GetFullPath(planDir);
        var file = Path.Combine(dir, PartitionPlan.FileName);
        if (!File.Exists(file))
        {
            reader.Error(SpecReader.Node(partition, "plan"), SpecReader.Join(path, "plan"), $"'{file}' does not exist; give the directory `sluice partition MODEL --stages K --out DIR` wrote");
            return null;
        }
        PartitionPlan plan;
        try
        {
            plan = PartitionPlan.FromJson(File.ReadAllText(file));
        }
        catch (SluiceException e)
        {
            reader.Error(SpecReader.Node(partition, "plan"), SpecReader.Join(path, "plan"), $"'{file}': {e.Message}");
            return null;
        }
        var missing = plan.Stages.Select(s => Path.Combine(dir, s.File)).Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
        {
            reader.Error(SpecReader.Node(partition, "plan"), SpecReader.Join(path, "plan"), $"the plan's stage models are missing: {string.Join(", ", missing)}");
            return null;
        }
        return Stages(stage, reader, partition, path, plan, dir, whole, parts);
    }

    private static Func<Dataset, Dataset>? Stages(StageSpec stage, SpecReader reader, YamlNode? at, string path, PartitionPlan plan, string dir, OnnxOptions whole,
        List<MapBatchesOptions>? parts)
    {
        if (parts is not null && parts.Count != plan.Stages.Count)
        {
            reader.Error(at, SpecReader.Join(path, "parts"), $"has {parts.Count} entries but the plan has {plan.Stages.Count} stages; give one entry per stage");
            return null;
        }
        var options = PipelineStages.For(plan, dir, whole);
        return ds =>
        {
            for (var i = 0; i < options.Count; i++)
                ds = ds.MapBatches<OnnxProcessor, OnnxOptions>(options[i], (parts?[i] ?? stage.Options) with { Name = $"{stage.Name}.{i}" });
            return ds;
        };
    }

    /// <summary><c>partition.parts</c>: each part's own options over the stage's, or null when not given.</summary>
    private static List<MapBatchesOptions>? Parts(StageSpec stage, SpecReader reader, YamlMappingNode partition, string path)
    {
        var node = SpecReader.Node(partition, "parts");
        if (node is null) return null;
        var partsPath = SpecReader.Join(path, "parts");
        if (node is not YamlSequenceNode seq)
        {
            reader.Error(node, partsPath, "must be a list with one entry per stage, e.g. [ { resources: { gpus: 1 } }, { resources: { cpus: 1 } } ]");
            return null;
        }
        var parts = new List<MapBatchesOptions>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is YamlMappingNode part) parts.Add(JobSpecParser.ParsePartOptions(reader, part, $"{partsPath}[{i}]", stage.Options));
            else reader.Error(seq.Children[i], $"{partsPath}[{i}]", $"must be a mapping of {string.Join(", ", JobSpecParser.PartFields)}");
        }
        return parts;
    }

    private static Dictionary<string, string>? Names(SpecReader reader, YamlMappingNode node, string key, string path)
    {
        var map = reader.Map(node, key, path, required: false);
        if (map is null) return null;
        var result = new Dictionary<string, string>();
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode { Value: { } name } && v is YamlScalarNode { Value: { Length: > 0 } column }) result[name] = column;
            else reader.Error(k, SpecReader.Join(path, key), "each entry must be `model_name: column_name`");
        }
        return result;
    }
}

/// <summary><c>simulate</c>: a model stage on a simulated GPU, holding its device <c>fixed_ms + per_row_ms x rows</c> per batch.</summary>
internal sealed class SimulateOp : StageOp
{
    public override string Name => "simulate";

    public override IReadOnlyCollection<string> Fields { get; } = ["fixed_ms", "per_row_ms"];

    public override ResourceRequest DefaultResources { get; } = new(Gpus: 1);

    public override Func<Dataset, Dataset>? Bind(StageSpec stage, SpecReader reader)
    {
        var options = new SimulateOptions(reader.Double(stage.Node, "fixed_ms", stage.Path) ?? 0, reader.Double(stage.Node, "per_row_ms", stage.Path) ?? 1);
        return ds => ds.MapBatches<SimulateProcessor, SimulateOptions>(options, stage.Options);
    }
}
