using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>
/// A model split over N devices of one actor (DESIGN.md §5, tensor parallel): owns one session per replicated
/// segment (on shard 0's device) and N per sharded region (shard <c>i</c> on device <c>i</c>), and runs them in
/// plan order, summing each region's shard outputs on the host. Stands in for one <see cref="InferenceSession"/>.
/// </summary>
internal sealed partial class TensorParallelModel : IModelRunner
{
    private readonly List<Piece> _pieces;

    /// <summary>The sessions of one planned piece; <see cref="Release"/>: tensors no later piece reads.</summary>
    private sealed record Piece(PieceKind Kind, IReadOnlyList<SessionRunner> Sessions, string[] Inputs, string[] Outputs, string[] Release);

    private TensorParallelModel(TensorParallelSummary plan, List<Piece> pieces, IReadOnlyDictionary<string, NodeMetadata> inputs, IReadOnlyDictionary<string, NodeMetadata> outputs)
    {
        Summary = plan;
        _pieces = pieces;
        InputMetadata = inputs;
        OutputMetadata = outputs;
    }

    public TensorParallelSummary Summary { get; }

    public IReadOnlyDictionary<string, NodeMetadata> InputMetadata { get; }

    public IReadOnlyDictionary<string, NodeMetadata> OutputMetadata { get; }

    /// <param name="path">An ONNX model file.</param>
    /// <param name="shards">Devices to split over, 2 or more.</param>
    /// <param name="intraOpThreads">The actor's threads: each replicated segment gets them all (it runs alone), each shard its share.</param>
    /// <param name="addProvider">The execution provider of shard <c>i</c>'s sessions; returns null for the CPU.</param>
    /// <exception cref="BadInputException">The model has no region to split.</exception>
    public static TensorParallelModel Load(string path, int shards, int intraOpThreads, Func<int, Action<SessionOptions>?> addProvider)
    {
        ArgumentNullException.ThrowIfNull(addProvider);
        ModelProto model;
        try { model = ModelProto.Parser.ParseFromFile(path); }
        catch (InvalidProtocolBufferException e) { throw new BadInputException($"'{path}' is not an ONNX model: {e.Message}", e); }
        var plan = TensorParallelPlanner.Plan(model, shards);

        var perShard = Math.Max(1, intraOpThreads / shards);
        var sessions = new List<SessionRunner>();
        try
        {
            var pieces = new List<Piece>();
            for (var i = 0; i < plan.Pieces.Count; i++)
            {
                var p = plan.Pieces[i];
                var made = p.Kind == PieceKind.Replicated
                    ? [OnnxModel.CreateSession(p.Models[0].ToByteArray(), intraOpThreads, addProvider(0))]
                    : p.Models.Select((m, k) => OnnxModel.CreateSession(m.ToByteArray(), perShard, addProvider(k))).ToList();
                sessions.AddRange(made);
                var later = plan.Pieces.Skip(i + 1).SelectMany(x => x.Inputs).ToHashSet(StringComparer.Ordinal);
                var release = p.Inputs.Concat(p.Outputs).Where(t => !later.Contains(t)).Distinct(StringComparer.Ordinal).ToArray();
                pieces.Add(new Piece(p.Kind, made, [.. p.Inputs], [.. p.Outputs], release));
            }
            return new TensorParallelModel(plan.Summary(), pieces, Metadata(model.Graph.Input.Select(x => x.Name), pieces, s => s.InputMetadata),
                Metadata(model.Graph.Output.Select(x => x.Name), pieces, s => s.OutputMetadata));
        }
        catch
        {
            foreach (var s in sessions) s.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var piece in _pieces)
            foreach (var s in piece.Sessions) s.Dispose();
    }

    /// <summary>The graph's inputs or outputs, in graph order, as the pieces that read or write them declare them.</summary>
    private static Dictionary<string, NodeMetadata> Metadata(IEnumerable<string> names, List<Piece> pieces, Func<SessionRunner, IReadOnlyDictionary<string, NodeMetadata>> of)
    {
        var result = new Dictionary<string, NodeMetadata>(StringComparer.Ordinal);
        foreach (var name in names)
            foreach (var s in pieces.SelectMany(p => p.Sessions))
                if (of(s).TryGetValue(name, out var meta))
                {
                    result[name] = meta;
                    break;
                }
        return result;
    }
}
