using System.CommandLine;
using System.Globalization;
using Sluice.Cluster;
using Sluice.Cluster.Autoscaling;
using Sluice.Execution;
using Sluice.Execution.Budget;
using Sluice.Execution.Stats;
using Sluice.Jobs;
using Sluice.Jobs.Binding;
using Microsoft.Extensions.Logging;

namespace Sluice.Cli.Commands;

/// <summary>
/// <c>sluice run … --cluster … --autoscale FILE</c>: the autoscale file bound to <see cref="AutoscaleOptions"/>, the
/// provider it names, and the autoscaler beside the job: started with the driver's silo, fed the job's snapshots,
/// stopped (workers above min removed, drained) after the job, its decisions printed after the stats table.
/// </summary>
internal sealed class AutoscaleSession
{
    private readonly string _file;
    private JobExecution? _job;
    private ClusterAutoscaler? _autoscaler;

    private AutoscaleSession(AutoscaleOptions options, string file)
    {
        Options = options;
        _file = file;
    }

    public AutoscaleOptions Options { get; }

    /// <summary>What one worker of each group offers: nodes the job may count on gaining.</summary>
    public IReadOnlyList<NodeResources> MayAdd => [.. Options.Groups.Select(g => g.Offers)];

    public static Option<string?> Option() => new("--autoscale")
    {
        Description = "with --cluster: add workers for the job's unmet demand and remove idle ones, as this YAML file says " +
            "(provider: local, groups: [{name, min, max, cpus, gpus, simulated_gpus, memory, args}], idle_timeout: 30s, up_delay: 1s, launch_timeout: 3m); --workers then defaults to 0",
    };

    /// <summary>
    /// The session of <paramref name="file"/>, or null without one. Refuses, before anything starts, a file that does not
    /// bind and a job with a stage whose one actor no group's worker can hold (it would wait forever).
    /// </summary>
    public static AutoscaleSession? Load(string? file, JobSpec spec)
    {
        if (file is null) return null;
        var options = OptionsFile.Load<AutoscaleOptions>(file, "the autoscale file");
        var pools = spec.Dataset().Plan.Chain().OfType<Sluice.Plan.MapBatchesOperator>()
            .Where(op => op.Transform is Sluice.Plan.BatchTransform.Processor)
            .Select(op => new PoolFloor(op.Name, op.Options.Pool.Min, op.Options.Resources ?? Contracts.ResourceRequest.OneCpu));
        if (options.Unservable(pools).ToList() is { Count: > 0 } problems)
            throw new SluiceException($"the job cannot run with the autoscale file '{file}':{Environment.NewLine}{string.Join(Environment.NewLine, problems.Select(p => "  - " + p))}");
        return new AutoscaleSession(options, file);
    }

    /// <summary>The kubernetes provider's warnings (e.g. not-ready pods go before the marked ones) on the console.</summary>
    private static readonly Lazy<ILoggerFactory> KubernetesLog =
        new(() => LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)));

    /// <summary>
    /// The providers by the name a file gives: the one place a provider is made (each gets the file's options, e.g.
    /// <see cref="AutoscaleOptions.Namespace"/> for kubernetes).
    /// </summary>
    private static readonly Dictionary<string, Func<AutoscaleOptions, ClusterNodeOptions, IWorkerProvider>> Providers = new(StringComparer.Ordinal)
    {
        ["local"] = (_, cluster) => new LocalWorkerProvider(typeof(AutoscaleSession).Assembly.Location, cluster, log: Console.WriteLine),
        // In the driver's pod: the in-cluster service account, the pod's namespace unless the file names one.
        ["kubernetes"] = (options, _) => Sluice.Kubernetes.KubernetesWorkerProvider.Create(options, KubernetesLog.Value.CreateLogger("Sluice.Autoscaler")),
    };

    private IWorkerProvider CreateProvider(ClusterNodeOptions cluster) => Providers.TryGetValue(Options.Provider, out var make) ? make(Options, cluster)
        : throw new SluiceException($"{_file}: provider '{Options.Provider}' is not in this build of sluice; give provider: {string.Join(" or ", Providers.Keys)}");

    /// <summary>Starts the autoscaler on the driver's runtime; it sees no demand until <see cref="Watch"/> gives it the job.</summary>
    public void Start(OrleansWorkerRuntime runtime, ClusterNodeOptions cluster)
    {
        var provider = CreateProvider(cluster);
        if (provider is LocalWorkerProvider local) Console.WriteLine($"autoscaler: local workers' output goes to {local.LogDirectory}/NODE.log");
        _autoscaler = ClusterAutoscaler.Start(Options, provider, () => runtime.Nodes, () => Volatile.Read(ref _job)?.Snapshot ?? ExecutionSnapshot.Empty, Console.WriteLine);
    }

    public void Watch(JobExecution job) => Volatile.Write(ref _job, job);

    /// <summary>Stops the autoscaler (it removes the workers above min and waits for them to leave) and prints its decisions.</summary>
    public async Task StopAsync()
    {
        if (_autoscaler is not { } autoscaler) return;
        _autoscaler = null;
        await autoscaler.DisposeAsync().ConfigureAwait(false);
        Console.WriteLine($"autoscaler ({Options.Provider}): {autoscaler.Decisions.Count} decision(s); most workers at once: " +
            string.Join(", ", Options.Groups.Select(g => $"{g.Name} {autoscaler.PeakWorkers.GetValueOrDefault(g.Name).ToString(CultureInfo.InvariantCulture)}")));
        foreach (var d in autoscaler.Decisions)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {d.At.TotalSeconds,7:0.0}s  {d}"));
    }
}
