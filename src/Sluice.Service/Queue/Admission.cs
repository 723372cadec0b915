using Sluice.Execution;

namespace Sluice.Service.Queue;

/// <summary>Whether a queued job may start now, and why not: a value, shown as the queued job's reason.</summary>
internal sealed record AdmissionDecision(bool Start, string Reason)
{
    public static AdmissionDecision Admit { get; } = new(true, "");
}

/// <summary>
/// The admission rule: a job starts when its minimum (<see cref="JobDemand"/>) fits in what the running jobs' minimums
/// leave free of the service's capacity, in every dimension (cpus, gpus, memory). Jobs scale above their minimum
/// within their own limits; the rule only keeps the floors of all running jobs holdable at once.
/// </summary>
internal static class Admission
{
    public static AdmissionDecision Decide(JobDemand job, IEnumerable<JobDemand> running, NodeResources capacity)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(capacity);
        var held = (running ?? []).Aggregate(JobDemand.None, (a, b) => a + b);
        var short_ = new List<string>();
        // A small tolerance: fractional GPUs (0.5 + 0.25 + 0.25) must add up to exactly one.
        const double epsilon = 1e-9;
        if (held.Cpus + job.Cpus > capacity.Cpus + epsilon) short_.Add($"cpus {job.Cpus:0.##} (free {Math.Max(0, capacity.Cpus - held.Cpus):0.##} of {capacity.Cpus:0.##})");
        if (held.Gpus + job.Gpus > capacity.Gpus + epsilon) short_.Add($"gpus {job.Gpus:0.##} (free {Math.Max(0, capacity.Gpus - held.Gpus):0.##} of {capacity.Gpus:0.##})");
        if (held.MemoryBytes + job.MemoryBytes > capacity.MemoryBytes)
            short_.Add($"memory {job.MemoryBytes / (1024 * 1024)}MiB (free {Math.Max(0, capacity.MemoryBytes - held.MemoryBytes) / (1024 * 1024)}MiB)");
        if (short_.Count == 0) return AdmissionDecision.Admit;
        return new AdmissionDecision(false, $"waiting for resources: its stages' minimum actors need {string.Join(", ", short_)}, held by running jobs");
    }

    /// <summary>Whether the job could ever start: its minimum fits the whole capacity. Null when it does; else why not.</summary>
    public static string? NeverFits(JobDemand job, NodeResources capacity)
    {
        var alone = Decide(job, [], capacity);
        return alone.Start ? null : $"its stages' minimum actors ({job}) exceed what the service has ({capacity}); lower pool.min or resources";
    }
}
