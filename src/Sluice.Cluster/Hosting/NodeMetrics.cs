using System.Diagnostics.Metrics;
using Sluice.Execution.Metrics;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// A worker node's own numbers on the <see cref="SluiceMetrics.MeterName"/> meter: what <c>sluice worker --metrics</c>
/// serves. A job's per-stage metrics are the driver's (it runs the job's loop); these say what each worker holds and
/// does: tasks in flight, blocks kept for consumers, bytes fetched from other nodes, the busy time of its (simulated) GPUs.
/// </summary>
internal static class NodeMetrics
{
    private static readonly Lock Gate = new();
    private static readonly List<ClusterNode> Nodes = [];
    private static readonly Meter Meter = Create();

    /// <summary>Reports <paramref name="node"/> until the returned handle is disposed.</summary>
    public static IDisposable Track(ClusterNode node)
    {
        _ = Meter;
        lock (Gate) Nodes.Add(node);
        return new Untrack(node);
    }

    private static Meter Create()
    {
        var meter = new Meter(SluiceMetrics.MeterName);
        meter.CreateObservableUpDownCounter("sluice.node.active_tasks", () => Each(n => (long)n.TasksInFlight), "{task}", "Tasks running on the node's actors now.");
        meter.CreateObservableUpDownCounter("sluice.node.held_blocks", () => Each(n => (long)n.HeldBlocks), "{block}", "Blocks the node keeps until their consumers free them.");
        meter.CreateObservableUpDownCounter("sluice.node.held_actors", () => Each(n => (long)n.Jobs.Actors), "{actor}", "Actors on the node that hold a processor (a loaded model), over every driver's jobs.");
        meter.CreateObservableUpDownCounter("sluice.node.held_bytes", () => Each(n => n.HeldBytes), "By", "Bytes of the blocks the node keeps.");
        meter.CreateObservableCounter("sluice.node.fetched_bytes", () => Each(n => n.BytesFetched), "By", "Bytes of blocks the node fetched from other nodes.");
        meter.CreateObservableCounter("sluice.node.device.busy_time", DeviceBusy, "s", "Time each of the node's (simulated) GPUs was held by a batch.");
        return meter;
    }

    private static ClusterNode[] Tracked()
    {
        lock (Gate) return [.. Nodes];
    }

    private static List<Measurement<long>> Each(Func<ClusterNode, long> pick) =>
        [.. Tracked().Select(n => new Measurement<long>(pick(n), new KeyValuePair<string, object?>(SluiceMetrics.NodeAttribute, n.Id)))];

    private static List<Measurement<double>> DeviceBusy()
    {
        var all = new List<Measurement<double>>();
        foreach (var node in Tracked())
        {
            var busy = node.Simulated?.BusyTimes() ?? [];
            for (var i = 0; i < busy.Length; i++)
            {
                all.Add(new(busy[i].TotalSeconds, new KeyValuePair<string, object?>(SluiceMetrics.NodeAttribute, node.Id),
                    new KeyValuePair<string, object?>("sluice.device", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            }
        }
        return all;
    }

    private sealed class Untrack(ClusterNode node) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Nodes.Remove(node);
        }
    }
}
