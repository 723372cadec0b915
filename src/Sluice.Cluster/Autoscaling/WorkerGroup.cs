using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution;

namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// A group of interchangeable workers the autoscaler may add and remove: what one worker offers and how many may run.
/// A worker tells the cluster its group (<c>sluice worker --group NAME</c>), so the autoscaler knows whose it is.
/// </summary>
public sealed record WorkerGroup : IValidatedOptions
{
    /// <summary>The group's name: unique among the groups, letters, digits and '-' (it names a Deployment's workers in Kubernetes).</summary>
    public required string Name { get; init; }

    /// <summary>Fewest workers of the group kept while the driver runs (removal stops here).</summary>
    public int Min { get; init; }

    /// <summary>Most workers of the group at once.</summary>
    public int Max { get; init; } = 1;

    /// <summary>Cores one worker of the group offers to actors.</summary>
    public double Cpus { get; init; } = 1;

    /// <summary>GPUs one worker of the group offers (simulated ones when <see cref="SimulatedGpus"/>).</summary>
    public double Gpus { get; init; }

    /// <summary>The group's GPUs exist only in time (local provider: its workers get <c>--sim-gpus</c>).</summary>
    public bool SimulatedGpus { get; init; }

    /// <summary>Memory one worker of the group offers, in bytes; 0 = unlimited for planning.</summary>
    [ByteSize]
    public long Memory { get; init; }

    /// <summary>Local provider: more arguments for each <c>sluice worker</c> it starts (e.g. <c>--ops-assembly</c>).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Kubernetes provider: the Deployment that runs this group's workers; null = <c>sluice-worker-{name}</c>.</summary>
    public string? Deployment { get; init; }

    /// <summary>What one worker of the group offers, as the executor counts a node (memory 0 = unlimited for planning).</summary>
    public NodeResources Offers => new(Cpus, Gpus, Memory == 0 ? long.MaxValue : Memory) { GpusSimulated = SimulatedGpus };

    /// <summary>One worker's offer in words: <c>cpus=1 gpus=1 (simulated) memory=unlimited</c>.</summary>
    internal string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"cpus={Cpus:0.##} gpus={Gpus:0.##}{(SimulatedGpus ? " (simulated)" : "")} memory={(Memory == 0 ? "unlimited" : $"{Memory / (1024 * 1024)}MiB")}");

    public IEnumerable<OptionError> Problems()
    {
        var inv = CultureInfo.InvariantCulture;
        if (string.IsNullOrEmpty(Name) || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            yield return new(nameof(Name), Name, "give a name of letters, digits and '-'");
        if (Min < 0) yield return new(nameof(Min), Min.ToString(inv), "give 0 or more");
        if (Max < 1 || Max < Min) yield return new(nameof(Max), Max.ToString(inv), $"give 1 or more, at least min ({Min})");
        if (!(Cpus >= 0) || double.IsInfinity(Cpus)) yield return new(nameof(Cpus), Cpus.ToString(inv), "give 0 or more cores");
        if (!(Gpus >= 0) || double.IsInfinity(Gpus)) yield return new(nameof(Gpus), Gpus.ToString(inv), "give 0 or more GPUs");
        if (Cpus == 0 && Gpus == 0) yield return new(nameof(Cpus), "0", "a worker must offer cpus or gpus, or no actor can use it");
        if (Memory < 0) yield return new(nameof(Memory), Memory.ToString(inv), "give a size such as 8GiB, or 0 for unlimited");
    }
}
