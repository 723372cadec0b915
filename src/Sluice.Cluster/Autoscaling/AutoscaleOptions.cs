using System.Globalization;
using Sluice.Contracts;
using Sluice.Execution.Budget;

namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// How the driver grows and shrinks its cluster from pending demand (<c>sluice run --cluster … --autoscale FILE</c>).
/// Every autoscaling default is here and only here.
/// </summary>
public sealed record AutoscaleOptions : IValidatedOptions
{
    /// <summary>Who starts and stops workers: <c>local</c> (<c>sluice worker</c> processes on this machine) or <c>kubernetes</c> (each group's Deployment).</summary>
    public string Provider { get; init; } = "local";

    /// <summary>The worker groups, in the order the autoscaler tries them for a demand (the first whose worker fits it wins).</summary>
    public IReadOnlyList<WorkerGroup> Groups { get; init; } = [];

    /// <summary>A worker holding no actor of the job this long is removed (drained first), down to its group's min.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A worker asked for that has not joined by then is given up on (and its place may be asked for again).</summary>
    public TimeSpan LaunchTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Demand must persist this long before workers are added (one blip of backlog starts nothing).</summary>
    public TimeSpan UpDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Kubernetes provider: the namespace of the groups' Deployments; null = the driver pod's own namespace.</summary>
    public string? Namespace { get; init; }

    /// <summary>
    /// The driver waits this long, once the job is over, for the workers it removes to drain and leave (they hold
    /// nothing the job needs by then; the local provider kills a worker still running after it).
    /// </summary>
    public TimeSpan LeaveTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Stages whose one actor fits no group's worker, one line each naming the stage and the groups: such a job would
    /// wait forever for a worker no group can give, so it is refused before it starts.
    /// </summary>
    public IEnumerable<string> Unservable(IEnumerable<PoolFloor> pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        foreach (var pool in pools.Where(p => !p.PerActor.IsEmpty && !Groups.Any(g => AutoscalePlanner.Fits(g, p.PerActor))))
        {
            yield return $"stage '{pool.Stage}': one actor needs {pool.PerActor}, which no worker group offers " +
                $"({string.Join("; ", Groups.Select(g => $"{g.Name}: {g.Describe()}"))}); give a group that fits it, or lower the stage's resources";
        }
    }

    public IEnumerable<OptionError> Problems()
    {
        if (Provider is not ("local" or "kubernetes")) yield return new(nameof(Provider), Provider, "give local or kubernetes");
        if (Groups.Count == 0) yield return new(nameof(Groups), null, "give at least one worker group (name, max, and what one worker offers)");
        for (var i = 0; i < Groups.Count; i++)
        {
            foreach (var p in Groups[i].Problems()) yield return p with { Member = $"{nameof(Groups)}[{i.ToString(CultureInfo.InvariantCulture)}].{p.Member}" };
        }
        foreach (var dup in Groups.GroupBy(g => g.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            yield return new(nameof(Groups), dup.Key, "give each group a different name");
        if (IdleTimeout < TimeSpan.Zero) yield return new(nameof(IdleTimeout), IdleTimeout.ToString(), "give 0 or a positive time");
        if (LaunchTimeout <= TimeSpan.Zero) yield return new(nameof(LaunchTimeout), LaunchTimeout.ToString(), "give a positive time");
        if (LeaveTimeout < TimeSpan.Zero) yield return new(nameof(LeaveTimeout), LeaveTimeout.ToString(), "give 0 or a positive time");
        if (UpDelay < TimeSpan.Zero) yield return new(nameof(UpDelay), UpDelay.ToString(), "give 0 or a positive time");
    }
}
