using Sluice.Contracts;
using Sluice.Inference;
using Sluice.Inference.Partitioning;
using Sluice.Jobs.Binding;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs.Ops;

/// <summary>
/// <c>onnx</c>: runs an ONNX model over tensor columns (<see cref="OnnxOptions"/>), whole, split over an actor's
/// devices (<c>tensor_parallel</c>), or cut into pipeline stages (<c>partition</c>), each its own operator.
/// </summary>
internal sealed class OnnxOp() : ProcessorOp<OnnxProcessor, OnnxOptions>("onnx", ResourceRequest.OneCpu,
    "an ONNX model over tensor columns; optionally mean-pooled to one vector per row, partitioned or tensor-parallel")
{
    private const string Partition = "partition";

    public override IReadOnlyCollection<string> ExtraFields => [Partition];

    public override string DescribeExtraField(string field) =>
        "auto \\| none \\| { stages: K } \\| { max_stage_bytes: B } \\| { plan: DIR }; with balance: params \\| latency and parts: [ { pool, resources, batch_size, max_concurrency }, … ]";

    protected override StagePlan? Plan(OnnxOptions options, StageInput stage, SpecContext context)
    {
        if (!context.IsNotFetched(options.Model) && !File.Exists(options.Model))
        {
            context.Error(SpecContext.Node(stage.Node, "model"), $"{stage.Path}.model", options.Model,
                "the file does not exist; give the path of an .onnx model (export the built-in one with `sluice models export minilm --out models/minilm`)");
            return null;
        }
        var partition = SpecContext.Node(stage.Node, Partition);
        if (partition is null or YamlScalarNode { Value: "none" }) return base.Plan(options, stage, context);
        var path = $"{stage.Path}.{Partition}";
        if (options.TensorParallel > 1)
        {
            context.Error(SpecContext.Node(stage.Node, "tensor_parallel"), $"{stage.Path}.tensor_parallel", $"{options.TensorParallel}", "cannot be combined with partition; give one of them");
            return null;
        }
        // Cutting a model reads its graph: one that explain left remote is downloaded now.
        if (context.Local(options.Model, $"{stage.Path}.model") is not { } local) return null;
        options = options with { Model = local };
        var cut = partition switch
        {
            YamlScalarNode { Value: "auto" } => Auto(options, stage, context, partition, path),
            YamlMappingNode map => FromSpec(options, stage, context, map, path),
            _ => Refuse(context, partition, path),
        };
        if (cut is null) return null;
        var (stages, parts) = cut.Value;
        return new StagePlan(ds =>
        {
            for (var i = 0; i < stages.Count; i++)
                ds = ds.MapBatches<OnnxProcessor, OnnxOptions>(stages[i], (parts?[i] ?? stage.Run) with { Name = stages.Count == 1 ? stage.Name : $"{stage.Name}.{i}" });
            return ds;
        }, InputColumns(options), null);
    }

    protected override IReadOnlyList<string> InputColumns(OnnxOptions options) => options.Inputs?.Values.ToList() ?? [];

    private static (IReadOnlyList<OnnxOptions>, List<MapBatchesOptions>?)? Refuse(SpecContext context, YamlNode node, string path)
    {
        context.Error(node, path, (node as YamlScalarNode)?.Value ?? "a list",
            "give auto (the fewest stages that fit a GPU), none (the model whole), or a mapping: { stages: K }, { max_stage_bytes: B } or { plan: DIR }");
        return null;
    }

    /// <summary>
    /// <c>partition: auto</c>: as many pipeline stages as it takes, and no more, for each to fit one GPU of this job's
    /// node (execution.sim_gpu_memory, or the detected device memory); the model whole when it already fits.
    /// </summary>
    private static (IReadOnlyList<OnnxOptions>, List<MapBatchesOptions>?)? Auto(OnnxOptions whole, StageInput stage, SpecContext context, YamlNode node, string path)
    {
        var device = context.Execution.DeviceMemory(context.Detected);
        if (device <= 0)
        {
            context.Error(node, path, "auto", "needs the memory of a GPU, and this node states none: give execution.sim_gpu_memory (with sim_gpus), or partition: { stages: K } or { max_stage_bytes: B }");
            return null;
        }
        if (new FileInfo(whole.Model).Length <= device) return ([whole], null);
        return Cached(whole, context, node, path, new PartitionOptions(MaxStageBytes: device), null);
    }

    /// <summary><c>partition: { stages: K }</c>, <c>{ max_stage_bytes: B }</c> or <c>{ plan: DIR }</c>, with optional <c>parts</c>.</summary>
    private static (IReadOnlyList<OnnxOptions>, List<MapBatchesOptions>?)? FromSpec(OnnxOptions whole, StageInput stage, SpecContext context, YamlMappingNode map, string path)
    {
        var options = OptionsBinder.Bind<PartitionOptions>(context, map, path, handledElsewhere: ["plan", "parts"]);
        var planDir = (SpecContext.Node(map, "plan") as YamlScalarNode)?.Value;
        if (options is null) return null;
        if ((options.Stages is null ? 0 : 1) + (options.MaxStageBytes is null ? 0 : 1) + (planDir is null ? 0 : 1) != 1)
        {
            context.Error(map, path, null, "give exactly one of stages (e.g. 3), max_stage_bytes (e.g. 40MiB) or plan (a directory written by sluice partition)");
            return null;
        }
        if (options.Stages is < 2)
        {
            context.Error(SpecContext.Node(map, "stages"), $"{path}.stages", $"{options.Stages}", "give 2 or more (or partition: none for the model whole)");
            return null;
        }
        var parts = Parts(stage, context, map, path);
        return planDir is not null
            ? FromPlan(whole, context, map, path, planDir, parts)
            : Cached(whole, context, map, path, options, parts);
    }

    /// <summary>
    /// The model cut as <paramref name="options"/> say. A job caches the plan and the stage models beside the model
    /// (remade when the model is newer); <c>explain</c> only plans, in memory, and writes nothing.
    /// </summary>
    private static (IReadOnlyList<OnnxOptions>, List<MapBatchesOptions>?)? Cached(OnnxOptions whole, SpecContext context, YamlNode at, string path,
        PartitionOptions options, List<MapBatchesOptions>? parts)
    {
        var model = whole.Model;
        var key = options.Stages is { } k ? $"stages{k}" : $"max{options.MaxStageBytes}";
        var dir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, ".partitions",
            $"{Path.GetFileNameWithoutExtension(model)}-{key}-{options.Balance.ToString().ToLowerInvariant()}");
        PartitionPlan plan;
        try
        {
            var planFile = Path.Combine(dir, PartitionPlan.FileName);
            plan = File.Exists(planFile) && File.GetLastWriteTimeUtc(planFile) >= File.GetLastWriteTimeUtc(model)
                ? PartitionPlan.FromJson(File.ReadAllText(planFile))
                : context.Prepare ? ModelPartitioner.Write(model, options, dir) : ModelPartitioner.Plan(model, options);
        }
        catch (SluiceException e)
        {
            context.Error(at, path, null, e.Message);
            return null;
        }
        return Stages(whole, context, at, path, plan, dir, parts);
    }

    /// <summary><c>partition: { plan: DIR }</c>: the stages of a plan written by <c>sluice partition</c>.</summary>
    private static (IReadOnlyList<OnnxOptions>, List<MapBatchesOptions>?)? FromPlan(OnnxOptions whole, SpecContext context, YamlMappingNode map, string path, string planDir,
        List<MapBatchesOptions>? parts)
    {
        var at = SpecContext.Node(map, "plan");
        var dir = Path.GetFileName(planDir) == PartitionPlan.FileName ? Path.GetDirectoryName(Path.GetFullPath(planDir))! : Path.GetFullPath(planDir);
        var file = Path.Combine(dir, PartitionPlan.FileName);
        if (!File.Exists(file))
        {
            context.Error(at, $"{path}.plan", planDir, $"'{file}' does not exist; give the directory `sluice partition MODEL --stages K --out DIR` wrote");
            return null;
        }
        PartitionPlan plan;
        try
        {
            plan = PartitionPlan.FromJson(File.ReadAllText(file));
        }
        catch (SluiceException e)
        {
            context.Error(at, $"{path}.plan", planDir, $"'{file}': {e.Message}");
            return null;
        }
        var missing = plan.Stages.Select(s => Path.Combine(dir, s.File)).Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
        {
            context.Error(at, $"{path}.plan", planDir, $"the plan's stage models are missing: {string.Join(", ", missing)}");
            return null;
        }
        return Stages(whole, context, map, path, plan, dir, parts);
    }

    private static (IReadOnlyList<OnnxOptions>, List<MapBatchesOptions>?)? Stages(OnnxOptions whole, SpecContext context, YamlNode at, string path, PartitionPlan plan,
        string dir, List<MapBatchesOptions>? parts)
    {
        if (parts is not null && parts.Count != plan.Stages.Count)
        {
            context.Error(at, $"{path}.parts", $"{parts.Count} entries", $"the plan has {plan.Stages.Count} stages; give one entry per stage");
            return null;
        }
        return (PipelineStages.For(plan, dir, whole), parts);
    }

    /// <summary>The fields one part of a partitioned stage may set for itself; the rest it inherits from its stage.</summary>
    internal static readonly string[] PartFields = ["batch_size", "pool", "resources", "max_concurrency"];

    /// <summary><c>partition.parts</c>: each part's own options over the stage's, or null when not given.</summary>
    private static List<MapBatchesOptions>? Parts(StageInput stage, SpecContext context, YamlMappingNode partition, string path)
    {
        var node = SpecContext.Node(partition, "parts");
        if (node is null) return null;
        var partsPath = $"{path}.parts";
        if (node is not YamlSequenceNode seq)
        {
            context.Error(node, partsPath, "a mapping", "give a list with one entry per stage, e.g. [ { resources: { gpus: 1 } }, { resources: { cpus: 1 } } ]");
            return null;
        }
        var parts = new List<MapBatchesOptions>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var partPath = $"{partsPath}[{i}]";
            if (seq.Children[i] is not YamlMappingNode part)
            {
                context.Error(seq.Children[i], partPath, null, $"give a mapping of {string.Join(", ", PartFields)}");
                continue;
            }
            foreach (var key in part.Children.Keys.OfType<YamlScalarNode>().Where(k => !PartFields.Contains(k.Value)))
                context.Error(key, $"{partPath}.{key.Value}", null, $"is not a field of a part; accepted: {string.Join(", ", PartFields)}");
            var bound = OptionsBinder.Bind(context, part, partPath, stage.Run);
            if (bound is not null) parts.Add(bound);
        }
        return parts;
    }
}
