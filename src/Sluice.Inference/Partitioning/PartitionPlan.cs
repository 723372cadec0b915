using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sluice.Inference.Partitioning;

/// <summary>One stage of a pipeline-partitioned model.</summary>
/// <param name="Index">0-based position in the pipeline.</param>
/// <param name="File">The stage model's file name, relative to the plan's folder.</param>
/// <param name="ParameterBytes">Bytes of the initializers this stage holds.</param>
/// <param name="Nodes">Nodes in the stage, duplicated ones included.</param>
/// <param name="DuplicatedNodes">Nodes computed from graph inputs only (the attention-mask chain) copied in from an earlier stage.</param>
/// <param name="Inputs">Inputs in order: the previous stage's output first, then the graph inputs this stage needs.</param>
/// <param name="Outputs">The tensor crossing to the next stage first, then the model outputs this stage finishes (all that remain, for the last stage).</param>
/// <param name="EstimatedCost">The stage's cost in <see cref="PartitionPlan.CostUnit"/>: measured kernel microseconds
/// (duplicated nodes included) or a per-position FLOP proxy, as <see cref="PartitionPlan.CostModel"/> says.</param>
public sealed record PartitionStage(
    int Index,
    string File,
    long ParameterBytes,
    int Nodes,
    int DuplicatedNodes,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    double EstimatedCost);

/// <summary>How a model was cut into pipeline stages; written as <c>plan.json</c> beside the stage models.</summary>
/// <param name="Model">The source model's path.</param>
/// <param name="Balance">What the stages were balanced by.</param>
/// <param name="CostModel">How <see cref="PartitionStage.EstimatedCost"/> was obtained: starts <c>measured:</c> (ONNX Runtime
/// profiling, for <see cref="PartitionBalance.Latency"/>) or <c>estimated:</c> (the FLOP proxy, with why when latency was asked for).</param>
/// <param name="CostUnit">The unit of <see cref="PartitionStage.EstimatedCost"/>: <c>microseconds</c> or <c>flop-proxy</c>.</param>
/// <param name="TotalParameterBytes">Initializer bytes of the whole model.</param>
/// <param name="DuplicatedParameterBytes">Initializer bytes held by more than one stage (stage sum − total).</param>
/// <param name="CutPoints">How many places the model could be cut.</param>
/// <param name="Cuts">The tensor crossing each cut, in pipeline order; null where nothing crosses (the parts on either side are independent, as two towers are).</param>
/// <param name="Stages">The stages, in pipeline order.</param>
public sealed record PartitionPlan(
    string Model,
    PartitionBalance Balance,
    string CostModel,
    string CostUnit,
    long TotalParameterBytes,
    long DuplicatedParameterBytes,
    int CutPoints,
    IReadOnlyList<string?> Cuts,
    IReadOnlyList<PartitionStage> Stages)
{
    public const string FileName = "plan.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static PartitionPlan FromJson(string json) =>
        JsonSerializer.Deserialize<PartitionPlan>(json, Json) ?? throw new BadInputException("the partition plan is empty");

    /// <summary>The plan as a fixed-width text table, one row per stage.</summary>
    public string ToTable()
    {
        var ci = CultureInfo.InvariantCulture;
        var rows = Stages.Select(s => new[]
        {
            s.Index.ToString(ci),
            s.File,
            s.ParameterBytes.ToString("N0", ci),
            s.Nodes.ToString(ci) + (s.DuplicatedNodes > 0 ? $" ({s.DuplicatedNodes} dup)" : ""),
            s.EstimatedCost.ToString("N0", ci),
            string.Join(", ", s.Inputs),
            string.Join(", ", s.Outputs),
        }).ToList();
        string[] header = ["stage", "file", "param bytes", "nodes", CostUnit == NodeCosts.Microseconds ? "cost (µs)" : "est. cost", "inputs", "outputs"];
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells) =>
            sb.AppendLine(string.Join("  ", cells.Select((c, i) => i is 2 or 4 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var r in rows) Line(r);
        sb.AppendLine(ci, $"cuts: {string.Join(" | ", Cuts.Select(c => c ?? "(nothing crosses)"))}  (of {CutPoints} cut points)");
        sb.AppendLine(ci, $"balance: {Balance.ToString().ToLowerInvariant()}; parameter bytes: {TotalParameterBytes:N0} total, {DuplicatedParameterBytes:N0} duplicated; cost: {CostModel}");
        return sb.ToString();
    }
}
