namespace Sluice.Inference.Partitioning;

/// <summary>
/// Turns a partition plan into the options of K <see cref="OnnxProcessor"/> stages that together do what
/// the whole model's options do. Each stage's boundary tensor travels to the next as a
/// tensor column; later stages take the graph inputs they need (the attention mask) from the columns the
/// first stage left in place. Only the first stage trims padding: it pads its per-token output back to the
/// full length, so every later stage sees full-length tensors and the full mask, consistently.
/// </summary>
public static class PipelineStages
{
    public static IReadOnlyList<OnnxOptions> For(PartitionPlan plan, string planDirectory, OnnxOptions whole)
    {
        var stages = new List<OnnxOptions>();
        string Column(string input) => whole.Inputs?.GetValueOrDefault(input) ?? input;
        Dictionary<string, string>? InputsOf(PartitionStage s) =>
            whole.Inputs?.Where(kv => s.Inputs.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var firstInputs = plan.Stages[0].Inputs;
        for (var i = 0; i < plan.Stages.Count; i++)
        {
            var stage = plan.Stages[i];
            var last = i == plan.Stages.Count - 1;
            var previousBoundary = i > 0 ? plan.Stages[i].Inputs[0] : null;
            var model = Path.Combine(planDirectory, stage.File);
            stages.Add(last
                ? whole with
                {
                    Model = model,
                    Inputs = InputsOf(stage),
                    TrimPadding = whole.TrimPadding && i == 0,
                    // The last stage reads the boundary and the mask; the first stage's other inputs go too,
                    // so the output has the same columns as the whole model's would.
                    DropColumns = [.. firstInputs.Where(c => !stage.Inputs.Contains(c)).Select(Column)],
                }
                : new OnnxOptions(model)
                {
                    Inputs = InputsOf(stage),
                    TrimPadding = whole.TrimPadding && i == 0,
                    IntraOpThreads = whole.IntraOpThreads,
                    ExecutionProvider = whole.ExecutionProvider,
                    DropInputs = false,
                    DropColumns = previousBoundary is null ? null : [previousBoundary],
                });
        }
        return stages;
    }
}
