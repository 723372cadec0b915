using System.Globalization;

namespace Sluice.Execution;

/// <summary>
/// Speculative execution of stragglers: a task of an actor pool that runs longer than <see cref="Multiplier"/> times the
/// pool's median task duration (and at least <see cref="Floor"/>) gets a backup copy on another actor, on another node
/// where there is one; the first copy to finish wins, the other is cancelled and its output discarded. A node whose
/// running tasks are all such stragglers while none of its tasks finished for that long is suspected: its actors are
/// retired (replaced elsewhere) and no new actor is placed there, before membership declares it dead.
/// Every default is here and only here.
/// </summary>
public sealed record SpeculationOptions
{
    /// <summary>Whether stragglers get backup copies and stuck nodes are suspected.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// A task is a straggler past this many times its pool's median task duration. 3: a pool's tasks vary (a batch of
    /// long texts, a second task queued behind the first on its actor); three medians is past that spread, so backups
    /// are rare on a healthy pool and cost little device time.
    /// </summary>
    public double Multiplier { get; init; } = 3;

    /// <summary>
    /// Never a straggler before this long: short tasks finish before a backup could help, and a backup costs a model
    /// call. 2 s is above the scheduling noise of a loaded node (a GC pause, a slow fetch of the input).
    /// </summary>
    public TimeSpan Floor { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Finished tasks a pool must have before its median is trusted: until then, nothing is speculated.</summary>
    public int MinSamples { get; init; } = 5;

    /// <summary>The straggler threshold for a pool whose median task takes <paramref name="median"/>.</summary>
    public TimeSpan Threshold(TimeSpan median) => TimeSpan.FromTicks(Math.Max(Floor.Ticks, (long)(median.Ticks * Multiplier)));

    internal IEnumerable<string> Validate()
    {
        var inv = CultureInfo.InvariantCulture;
        if (!(Multiplier >= 1)) yield return $"speculation.multiplier: {Multiplier.ToString(inv)} is not accepted; give 1 or more (times the pool's median task duration)";
        if (Floor < TimeSpan.Zero) yield return $"speculation.min_s: {Floor.TotalSeconds.ToString(inv)} is not accepted; give 0 or more seconds";
        if (MinSamples < 1) yield return $"speculation.min_samples: {MinSamples.ToString(inv)} is not accepted; give 1 or more";
    }
}
