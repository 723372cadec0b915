namespace Sluice.Inference.Partitioning;

/// <summary>
/// Turns a partition plan into the options of K <see cref="OnnxProcessor"/> stages that together do what
/// the whole model's options do. Each stage's boundary tensor travels to the next as a tensor column; later
/// stages take the graph inputs they need (the attention mask) from the columns earlier stages left in place.
/// A model output finished early (one tower of a dual-tower model) is written by the stage that finishes it,
/// under the whole model's column name, and rides along to the end. Only the first stage trims padding: it
/// pads its per-token output back to the full length, so every later stage sees full-length tensors and the
/// full mask, consistently. The last stage drops the graph inputs every stage read, as the whole model would.
/// </summary>
public static class PipelineStages
{
    public static IReadOnlyList<OnnxOptions> For(PartitionPlan plan, string planDirectory, OnnxOptions whole)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(whole);
        var stages = new List<OnnxOptions>();
        var cuts = plan.Cuts.OfType<string>().ToHashSet(StringComparer.Ordinal);
        string Column(string input) => whole.Inputs?.GetValueOrDefault(input) ?? input;
        Dictionary<string, string>? InputsOf(PartitionStage s) =>
            whole.Inputs?.Where(kv => s.Inputs.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var graphInputs = plan.Stages.SelectMany(s => s.Inputs).Where(i => !cuts.Contains(i)).Distinct(StringComparer.Ordinal).ToList();
        for (var i = 0; i < plan.Stages.Count; i++)
        {
            var stage = plan.Stages[i];
            var last = i == plan.Stages.Count - 1;
            var model = Path.Combine(planDirectory, stage.File);
            if (last)
            {
                stages.Add(whole with
                {
                    Model = model,
                    Inputs = InputsOf(stage),
                    Outputs = whole.Outputs?.Where(kv => stage.Outputs.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value),
                    // Every stage cuts padding: the first by the batch's mask, the others their boundary tensor's sequence too.
                    TrimPadding = whole.TrimPadding,
                    // The last stage reads the boundary and the mask; the other graph inputs go too, so the
                    // output has the same columns as the whole model's would.
                    DropColumns = !whole.KeepInputs ? [.. graphInputs.Where(c => !stage.Inputs.Contains(c)).Select(Column)] : null,
                });
                continue;
            }
            var crossing = plan.Cuts[i];
            var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
            if (crossing is not null) outputs[crossing] = crossing;
            foreach (var finished in stage.Outputs.Where(o => o != crossing))
            {
                if (whole.Outputs?.GetValueOrDefault(finished) is { } column) outputs[finished] = column;
                else if (whole.Outputs is null && whole.Pooling == Pooling.None) outputs[finished] = finished;
            }
            stages.Add(new OnnxOptions(model)
            {
                Inputs = InputsOf(stage),
                Outputs = outputs,
                TrimPadding = whole.TrimPadding,
                IntraOpThreads = whole.IntraOpThreads,
                ExecutionProvider = whole.ExecutionProvider,
                KeepInputs = true,
                DropColumns = i > 0 && plan.Cuts[i - 1] is { } consumed ? [consumed] : null,
            });
        }
        return stages;
    }
}
