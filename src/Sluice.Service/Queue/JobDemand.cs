using Sluice.Contracts;
using Sluice.Jobs;
using Sluice.Plan;

namespace Sluice.Service.Queue;

/// <summary>
/// What a job holds at the least while it runs: the sum, over its actor pools, of <c>pool.min</c> × each actor's
/// resources. GPUs of a job that simulates its own (<c>execution.sim_gpus</c>) exist only in its time and are not counted.
/// </summary>
internal sealed record JobDemand(double Cpus, double Gpus, long MemoryBytes)
{
    public static JobDemand None { get; } = new(0, 0, 0);

    public static JobDemand Of(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var simulated = spec.Execution.SimGpus is > 0;
        var demand = None;
        // The planned operators, not the spec's stages: a partitioned model is several pools, each with its own floor.
        foreach (var op in spec.Dataset().Plan.Chain().OfType<MapBatchesOperator>().Where(o => o.Transform is BatchTransform.Processor))
        {
            var each = op.Options.Resources ?? ResourceRequest.OneCpu;
            var min = op.Options.Pool.Min;
            demand += new JobDemand(min * each.Cpus, simulated ? 0 : min * each.Gpus, min * each.MemoryBytes);
        }
        return demand;
    }

    public static JobDemand operator +(JobDemand a, JobDemand b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return new(a.Cpus + b.Cpus, a.Gpus + b.Gpus, a.MemoryBytes + b.MemoryBytes);
    }

    public JobDemand Add(JobDemand other) => this + other;

    public override string ToString() => $"cpus={Cpus:0.##} gpus={Gpus:0.##} memory={MemoryBytes / (1024 * 1024)}MiB";
}
