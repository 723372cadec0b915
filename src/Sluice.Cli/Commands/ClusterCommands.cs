using System.CommandLine;
using Sluice.Cluster;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Jobs.Binding;

namespace Sluice.Cli.Commands;

/// <summary>Cluster mode: <c>sluice worker</c>, and the <c>--cluster</c> switch of <c>sluice run</c>.</summary>
internal static class ClusterCommands
{
    public static Option<string?> ClusterOption() => new("--cluster") { Description = "run on a cluster whose membership lives in Redis: redis://HOST:PORT" };

    public static Option<int> WorkersOption() => new("--workers")
    {
        Description = "with --cluster: wait for this many worker nodes before starting (up to a minute)",
        DefaultValueFactory = _ => 1,
    };

    public static Option<bool> FastFailureOption() => new("--fast-failure-detection")
    {
        Description = "declare a dead node within about a second (loopback tests; a long GC pause could evict a healthy node)",
    };

    public static Command Worker()
    {
        var cluster = ClusterOption();
        cluster.Required = true;
        var cpus = new Option<double?>("--cpus") { Description = "cores this node offers to actors (default: all)" };
        var gpus = new Option<double?>("--gpus") { Description = "GPUs this node offers (default: detected)" };
        var sim = new Option<int?>("--sim-gpus") { Description = "give this node N simulated GPUs (simulate stages; onnx stages run on the CPU holding one)" };
        var simMemory = new Option<string?>("--sim-gpu-memory") { Description = "memory of each simulated GPU, e.g. 64MiB (default: unlimited)" };
        var memory = new Option<string?>("--memory") { Description = "memory this node offers, e.g. 8GiB (default: detected)" };
        var nodeId = new Option<string?>("--node-id") { Description = "the node's name (default: worker-HOST-PID-random)" };
        var fast = FastFailureOption();
        var drain = new Option<double?>("--drain-timeout")
        {
            Description = "on SIGTERM or Ctrl-C, seconds to drain before leaving: finish the tasks in hand and serve the blocks made here until consumed (default 60)",
        };
        var opsAssemblies = OpsAssemblies.Option();
        var readyFile = new Option<string?>("--ready-file")
        {
            Description = "once the node has joined, write its id to this file (for launchers that wait for the worker; written whole, then renamed into place)",
        };
        var command = new Command("worker", "run a worker node: hosts actors and serves its blocks until Ctrl-C or SIGTERM (then drains and leaves)")
        {
            cluster, cpus, gpus, sim, simMemory, memory, nodeId, fast, drain, opsAssemblies, readyFile,
        };
        command.SetAction((parse, ct) => Guard(async () =>
        {
            var detected = NodeResources.Detect();
            long? bytes = null;
            if (parse.GetValue(memory) is { } m)
            {
                if (!ByteSizes.TryParse(m, out var b) || b <= 0) throw new SluiceException($"--memory: '{m}' is not accepted; give a positive size such as 512MiB, 8GiB or 1048576");
                bytes = b;
            }
            var resources = detected with
            {
                Cpus = parse.GetValue(cpus) ?? detected.Cpus,
                Gpus = parse.GetValue(gpus) ?? detected.Gpus,
                MemoryBytes = bytes ?? detected.MemoryBytes,
            };
            long simBytes = 0;
            if (parse.GetValue(simMemory) is { } sm && (!ByteSizes.TryParse(sm, out simBytes) || simBytes <= 0))
                throw new SluiceException($"--sim-gpu-memory: '{sm}' is not accepted; give a positive size such as 64MiB or 16GiB");
            if (parse.GetValue(sim) is { } n) resources = resources.WithSimulatedGpus(n, simBytes);
            else if (simBytes > 0) throw new SluiceException("--sim-gpu-memory is the memory of each simulated GPU: give --sim-gpus N too");
            var options = new ClusterNodeOptions
            {
                Redis = parse.GetValue(cluster)!,
                NodeId = parse.GetValue(nodeId),
                Resources = resources,
                FastFailureDetection = parse.GetValue(fast),
                Processors = OpsAssemblies.Registry(parse.GetValue(opsAssemblies) ?? []).Processors,
            };
            if (parse.GetValue(drain) is { } seconds)
            {
                if (!(seconds >= 0) || double.IsInfinity(seconds)) throw new SluiceException($"--drain-timeout: '{seconds}' is not accepted; give seconds, 0 or more");
                options = options with { DrainTimeout = TimeSpan.FromSeconds(seconds) };
            }
            // SIGTERM and Ctrl-C go to the node's host (Program leaves them to it for this command), which drains before leaving.
            var ready = parse.GetValue(readyFile);
            await ClusterWorker.RunAsync(options, id =>
            {
                Console.WriteLine($"worker {id} joined {options.Redis} ({resources}); Ctrl-C to leave");
                if (ready is not null) WriteReadyFile(ready, id);
            }, Console.WriteLine, ct).ConfigureAwait(false);
            Console.WriteLine("worker left the cluster");
            return Commands.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Writes the node id to <paramref name="path"/> atomically: a launcher polling for the file never sees it
    /// half written, because it appears only by the rename of a complete temp file beside it.
    /// </summary>
    private static void WriteReadyFile(string path, string nodeId)
    {
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, nodeId);
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Runs <paramref name="run"/> with a cluster runtime (the driver's silo) when <paramref name="redis"/> is given, else embedded (null).</summary>
    public static async Task<T> WithRuntimeAsync<T>(string? redis, int workers, bool fastFailure, Func<IWorkerRuntime?, Task<T>> run, CancellationToken ct)
    {
        if (redis is null) return await run(null).ConfigureAwait(false);
        var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis, FastFailureDetection = fastFailure }, ct).ConfigureAwait(false);
        await using (runtime.ConfigureAwait(false))
        {
            await runtime.WaitForWorkersAsync(workers, TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
            Console.WriteLine($"driver {runtime.NodeId}: {runtime.Nodes.Count - 1} worker node(s): {string.Join(", ", runtime.Nodes.Skip(1).Select(n => $"{n.Id} ({n.Resources})"))}");
            var result = await run(runtime).ConfigureAwait(false);
            Console.WriteLine($"moved {await runtime.BytesMovedAsync(ct).ConfigureAwait(false):N0} bytes between nodes");
            return result;
        }
    }

    private static Task<int> Guard(Func<Task<int>> action) => Commands.GuardAsync(action);
}
