using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Sluice.Inference.Partitioning;

/// <summary>
/// Pipeline partitioning (DESIGN.md §5): cuts an ONNX graph where it narrows to one activation tensor into
/// stages balanced by parameter bytes or by latency (measured with ONNX Runtime profiling, see <see cref="LatencyProfiler"/>).
/// Small subgraphs computed from graph inputs only (the attention-mask chain) are duplicated into the stages that
/// need them, which are fed those inputs.
/// </summary>
public static class ModelPartitioner
{
    /// <summary>Chooses the cuts without writing anything.</summary>
    /// <exception cref="BadInputException">Bad options, a missing model, or a model that cannot be cut that way.</exception>
    public static PartitionPlan Plan(string modelPath, PartitionOptions options) => Partition(modelPath, options, null);

    /// <summary>Chooses the cuts and writes <c>stage{i}.onnx</c> and <c>plan.json</c> into <paramref name="outDir"/>.</summary>
    /// <exception cref="BadInputException">Bad options, a missing model, or a model that cannot be cut that way.</exception>
    public static PartitionPlan Write(string modelPath, PartitionOptions options, string outDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        return Partition(modelPath, options, outDir);
    }

    private static PartitionPlan Partition(string modelPath, PartitionOptions options, string? outDir)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var path = Path.GetFullPath(modelPath);
        if (!File.Exists(path)) throw new BadInputException($"model file '{path}' does not exist");
        ModelProto model;
        try { model = ModelProto.Parser.ParseFromFile(path); }
        catch (InvalidProtocolBufferException e) { throw new BadInputException($"'{path}' is not an ONNX model: {e.Message}", e); }

        var g = new GraphIndex(model.Graph);
        var cuts = CutPointFinder.Find(g);
        var costs = options.Balance == PartitionBalance.Latency ? LatencyProfiler.Measure(model, g) : NodeCosts.Proxy(g);
        var balancer = new StageBalancer(g, cuts, costs.PerNode);
        var chosen = ChooseCuts(options, cuts, balancer);
        var stages = Enumerable.Range(0, chosen.Count + 1).Select(i => StageBuilder.Walk(g, chosen, i)).ToList();

        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
            var boundary = BoundaryTypes(model, g, chosen.Select(c => c.Tensor).OfType<string>().ToList());
            foreach (var s in stages)
                StageBuilder.Build(model, g, s, boundary).WriteToFile(Path.Combine(outDir, StageFile(s.Index)));
        }

        var total = g.TotalParameterBytes;
        var plan = new PartitionPlan(
            path,
            options.Balance,
            costs.Model,
            costs.Unit,
            total,
            stages.Sum(s => s.ParameterBytes) - total,
            cuts.Count,
            chosen.Select(c => c.Tensor).ToList(),
            stages.Select(s => new PartitionStage(s.Index, StageFile(s.Index), s.ParameterBytes, s.Nodes.Count, s.DuplicatedNodes, s.Inputs, s.Outputs, s.Nodes.Sum(n => costs.PerNode[n]))).ToList());
        if (outDir is not null) File.WriteAllText(Path.Combine(outDir, PartitionPlan.FileName), plan.ToJson());
        return plan;
    }

    private static string StageFile(int index) => $"stage{index}.onnx";

    private static List<CutPoint> ChooseCuts(PartitionOptions options, IReadOnlyList<CutPoint> cuts, StageBalancer balancer)
    {
        if (options.Stages is { } k)
        {
            if (k > cuts.Count + 1)
                throw new BadInputException($"PartitionOptions.Stages (--stages) is {k}, but the model has {cuts.Count} cut points, so at most {cuts.Count + 1} stages");
            return balancer.Choose(k, options.Balance).Select(i => cuts[i]).ToList();
        }

        var cap = options.MaxStageBytes!.Value;
        var fewest = balancer.FewestStages(cap)
            ?? throw new BadInputException(
                $"no partition fits PartitionOptions.MaxStageBytes (--max-stage-bytes) {cap:N0} B: the smallest achievable largest stage is " +
                $"{balancer.SmallestAchievableMaxBytes():N0} B (cutting at all {cuts.Count} cut points)");
        return balancer.Choose(fewest, options.Balance, cap).Select(i => cuts[i]).ToList();
    }

    /// <summary>
    /// Types for the crossing tensors: the graph's value_info where it has one, else the shape ONNX Runtime infers
    /// (the tensors are made extra graph outputs of the whole model, loaded unoptimized), symbolic dims kept.
    /// </summary>
    internal static Dictionary<string, ValueInfoProto> BoundaryTypes(ModelProto model, GraphIndex g, List<string> tensors)
    {
        var result = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var t in tensors)
        {
            if (g.ValueInfo.TryGetValue(t, out var vi) && vi.Type?.TensorType?.Shape is not null) result[t] = vi.Clone();
            else missing.Add(t);
        }
        if (missing.Count == 0) return result;

        var probe = model.Clone();
        foreach (var t in missing) probe.Graph.Output.Add(new ValueInfoProto { Name = t });
        // The probe's inputs need not fit the model's shape rules (a decoder's mask spans past + seq columns); a failed
        // probe is handled below, so ONNX Runtime's own error line for it would only mislead.
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var session = new InferenceSession(probe.ToByteArray(), sessionOptions);
        var observed = ObservedShapes(session, missing);
        foreach (var t in missing)
        {
            var meta = session.OutputMetadata[t];
            var shape = new TensorShapeProto();
            if (meta.Dimensions.Length == 0 && observed.TryGetValue(t, out var seen))
            {
                // Static inference gave no rank: take it from a run on probe inputs whose free dims are
                // 3 (the first, batch) and 7 (the others); a dim of the same size stays free, others are fixed.
                for (var d = 0; d < seen.Length; d++)
                {
                    shape.Dim.Add(seen[d] == ProbeBatch ? new TensorShapeProto.Types.Dimension { DimParam = "batch" }
                        : seen[d] == ProbeFree ? new TensorShapeProto.Types.Dimension { DimParam = $"{t}_dim{d}" }
                        : new TensorShapeProto.Types.Dimension { DimValue = seen[d] });
                }
                result[t] = new ValueInfoProto { Name = t, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)meta.ElementDataType, Shape = shape } } };
                continue;
            }
            for (var d = 0; d < meta.Dimensions.Length; d++)
            {
                var dim = meta.Dimensions[d];
                var sym = meta.SymbolicDimensions.Length > d ? meta.SymbolicDimensions[d] : "";
                shape.Dim.Add(dim > 0
                    ? new TensorShapeProto.Types.Dimension { DimValue = dim }
                    : new TensorShapeProto.Types.Dimension { DimParam = string.IsNullOrEmpty(sym) ? $"{t}_dim{d}" : sym });
            }
            // ORT reports no dims when it could not infer the rank: leave the shape out (unknown rank, valid ONNX)
            // rather than declare a scalar.
            var type = new TypeProto.Types.Tensor { ElemType = (int)meta.ElementDataType };
            if (shape.Dim.Count > 0) type.Shape = shape;
            result[t] = new ValueInfoProto { Name = t, Type = new TypeProto { TensorType = type } };
        }
        return result;
    }

    private const int ProbeBatch = 3;
    private const int ProbeFree = 7;

    /// <summary>Runs the model once on probe inputs (ones) and returns the shapes the named tensors had; empty when it cannot run.</summary>
    private static Dictionary<string, long[]> ObservedShapes(InferenceSession session, List<string> tensors)
    {
        var inputs = ProbeInputs.Create(session, ProbeBatch, ProbeFree, seed: null, out _);
        if (inputs is null) return [];
        try
        {
            using var results = session.Run(inputs, tensors);
            return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().Dimensions.ToArray().Select(d => (long)d).ToArray(), StringComparer.Ordinal);
        }
        catch (OnnxRuntimeException)
        {
            return [];
        }
        catch (InvalidCastException)
        {
            return [];
        }
    }
}
