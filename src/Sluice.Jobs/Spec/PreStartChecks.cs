using Apache.Arrow;
using Sluice.Execution.Budget;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>
/// What can be known wrong before the job starts, found before it starts: a stage reading a column its input
/// does not have, and pools whose <c>min</c> actors cannot all hold their resources on the nodes.
/// </summary>
internal static class PreStartChecks
{
    public static void Run(JobSpec spec, YamlMappingNode root, SpecContext context)
    {
        Columns(spec, root, context);
        if (!context.OnCluster) Pools(spec, root, context);
    }

    private static void Columns(JobSpec spec, YamlMappingNode root, SpecContext context)
    {
        Schema? schema;
        try
        {
            schema = spec.Source.InferSchemaAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        catch (SluiceException)
        {
            // Missing or unreadable inputs are reported, located, when the job plans its reads.
            return;
        }
        if (schema is null) return;
        var columns = schema.FieldsList.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var from = $"the {spec.Read.Format} input";
        foreach (var stage in spec.Stages)
        {
            foreach (var column in stage.Plan.InputColumns.Where(c => !columns.Contains(c)))
            {
                context.Error(StageNode(root, stage), stage.Path, column,
                    $"stage '{stage.Name}' reads column '{column}', which {from} does not have; its columns are: {string.Join(", ", columns.Order(StringComparer.Ordinal))}");
            }
            if (stage.Plan.OutputColumns is null) return;
            if (!stage.Plan.KeepsInputColumns) columns.Clear();
            columns.UnionWith(stage.Plan.OutputColumns);
            from = $"stage '{stage.Name}''s output";
        }
    }

    private static void Pools(JobSpec spec, YamlMappingNode root, SpecContext context)
    {
        var dataset = spec.Dataset();
        var floors = dataset.Plan.Chain().OfType<Sluice.Plan.MapBatchesOperator>()
            .Where(op => op.Transform is Sluice.Plan.BatchTransform.Processor)
            .Select(op => new PoolFloor(op.Name, op.Options.Pool.Min, op.Options.Resources ?? Contracts.ResourceRequest.OneCpu))
            .ToList();
        var node = spec.Execution.Node(context.Detected);
        // A pool whose one actor fits no node at all is refused when the job starts, saying what to install or
        // simulate (the executor's preflight); this check is about minimums that fit alone but not together.
        floors = [.. floors.Where(f => PoolFit.FirstMisfit([f with { Min = 1 }], [node]) is null)];
        if (PoolFit.FirstMisfit(floors, [node]) is not { } misfit) return;
        var stage = spec.Stages.FirstOrDefault(s => misfit.Pool.Stage == s.Name || misfit.Pool.Stage.StartsWith(s.Name + ".", StringComparison.Ordinal));
        var path = stage is null ? "stages" : misfit.Pool.Stage == stage.Name ? $"{stage.Path}.pool.min" : $"{stage.Path}.partition.parts[{misfit.Pool.Stage[(stage.Name.Length + 1)..]}].pool.min";
        context.Error(stage is null ? root : StageNode(root, stage), path, $"{misfit.Pool.Min}",
            $"stage '{misfit.Pool.Stage}' needs {misfit.Pool.Min} actors of {misfit.Pool.PerActor} at once, but only {misfit.Placed} fit on this node ({node}) beside the other stages' minimum actors; " +
            "lower pool.min or resources, or give the node more (execution.cpus / gpus / sim_gpus)");
    }

    private static YamlNode StageNode(YamlMappingNode root, StageSpec stage) =>
        SpecContext.Node(root, "stages") is YamlSequenceNode seq && int.TryParse(stage.Path["stages[".Length..^1], out var i) && i < seq.Children.Count ? seq.Children[i] : root;
}
