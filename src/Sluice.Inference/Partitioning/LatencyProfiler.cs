using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Sluice.Inference.Partitioning;

/// <summary>
/// Measures per-node latency for <see cref="PartitionBalance.Latency"/>: runs the whole model in ONNX Runtime with
/// profiling on and reads each node's kernel time from the trace (Chrome-trace JSON, <c>"cat":"Node"</c> events
/// named <c>&lt;node&gt;_kernel_time</c>, <c>"dur"</c> in µs). The graph is loaded unoptimized, so every event is
/// one of the graph's nodes; production fuses some (attention, layer norm) and runs faster, so the times weigh
/// stages against each other rather than predict them. When the model cannot be run, the FLOP proxy is used and
/// the plan's cost model says why.
/// </summary>
internal static class LatencyProfiler
{
    /// <summary>Rows in the probe batch: enough that a node's time is its compute, not dispatch overhead.</summary>
    public const int ProbeBatch = 8;

    /// <summary>Every other free dim (a sequence length): the padded length text encoders usually see.</summary>
    public const int ProbeFree = 128;

    /// <summary>Profiled runs averaged, after one warm-up run whose times (first-touch allocations) are dropped.</summary>
    public const int Runs = 3;

    /// <summary>
    /// Every node is renamed to this plus its index in a copy of the model: ORT names unnamed nodes
    /// <c>&lt;OpType&gt;_&lt;its own index&gt;</c> and node names need not be unique, so original names would not map back.
    /// </summary>
    private const string NamePrefix = "sluice_node_";

    private const string KernelSuffix = "_kernel_time";

    public static NodeCosts Measure(ModelProto model, GraphIndex g)
    {
        try
        {
            return Profile(model, g);
        }
        catch (Exception e) when (e is OnnxRuntimeException or JsonException or IOException or InvalidOperationException or KeyNotFoundException)
        {
            return NodeCosts.Proxy(g, $"latency not measured, ONNX Runtime profiling failed: {e.Message}");
        }
    }

    private static NodeCosts Profile(ModelProto model, GraphIndex g)
    {
        var named = model.Clone();
        for (var i = 0; i < named.Graph.Node.Count; i++) named.Graph.Node[i].Name = NamePrefix + i.ToString(CultureInfo.InvariantCulture);

        // One intra-op thread: kernel times then add up to the run's time, and it is how actors run on CPU (DESIGN.md §5).
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = 1,
            EnableProfiling = true,
            ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), $"sluice-profile-{Guid.NewGuid():N}"),
        };
        using var session = new InferenceSession(named.ToByteArray(), options);
        var inputs = ProbeInputs.Create(session, ProbeBatch, ProbeFree, seed: 1, out var problem);
        if (inputs is not null)
            for (var r = 0; r <= Runs; r++)
                using (session.Run(inputs)) { }
        var trace = session.EndProfiling();
        try
        {
            if (inputs is null) return NodeCosts.Proxy(g, $"latency not measured: {problem}");
            var perNode = ReadTrace(trace, g.Nodes.Count);
            if (perNode.Sum() <= 0) return NodeCosts.Proxy(g, "latency not measured: the ONNX Runtime profile had no node times");
            var description = $"measured: ONNX Runtime profile (CPU, 1 intra-op thread, unoptimized graph), inputs {ProbeInputs.Describe(inputs)}, " +
                $"kernel microseconds per node, mean of {Runs} runs after a warm-up";
            return new NodeCosts(perNode, description, NodeCosts.Microseconds);
        }
        finally
        {
            File.Delete(trace);
        }
    }

    /// <summary>Per node: the mean kernel time over its events but the earliest (the warm-up run); 0 for a node with none.</summary>
    private static double[] ReadTrace(string trace, int nodes)
    {
        var events = new List<(long Ts, double Dur)>[nodes];
        using (var stream = File.OpenRead(trace))
        using (var doc = JsonDocument.Parse(stream))
        {
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
                var name = e.GetProperty("name").GetString() ?? "";
                if (!name.StartsWith(NamePrefix, StringComparison.Ordinal) || !name.EndsWith(KernelSuffix, StringComparison.Ordinal)) continue;
                var index = name.AsSpan(NamePrefix.Length, name.Length - NamePrefix.Length - KernelSuffix.Length);
                if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var i) || i >= nodes) continue;
                (events[i] ??= []).Add((e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetDouble()));
            }
        }
        return events.Select(list => list is null || list.Count < 2 ? 0 : list.OrderBy(x => x.Ts).Skip(1).Average(x => x.Dur)).ToArray();
    }
}
