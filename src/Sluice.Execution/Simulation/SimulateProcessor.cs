using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Execution.Simulation;

/// <summary>How long a simulated model holds its device per batch: <c>fixed + per_row x rows</c>.</summary>
public sealed record SimulateOptions(double FixedMs = 0, double PerRowMs = 1) : IValidatedOptions
{
    public TimeSpan Duration(int rows) => TimeSpan.FromMilliseconds(FixedMs + PerRowMs * rows);

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (!(FixedMs >= 0)) yield return new(nameof(FixedMs), FixedMs.ToString(inv), "give 0 or more milliseconds");
        if (!(PerRowMs >= 0)) yield return new(nameof(PerRowMs), PerRowMs.ToString(inv), "give 0 or more milliseconds");
    }
}

/// <summary>
/// The <c>simulate</c> op: a model stage on a simulated GPU. Each batch holds the actor's device
/// exclusively for <see cref="SimulateOptions.Duration"/> (actors sharing a device with fractional
/// gpus queue for it) and passes its rows through unchanged.
/// </summary>
public sealed class SimulateProcessor(SimulateOptions options) : IBatchProcessor, IPreflightCheck
{
    private SimulatedDevices? _devices;
    private int _device;

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
    {
        if (context.Simulated is null || context.GpuIds.Count == 0)
            throw new SluiceException($"stage '{context.Operator}': simulate runs on a simulated GPU; give the stage resources: {{ gpus: 1 }} (or a fraction) and the node simulated GPUs (--sim-gpus N)");
        _devices = context.Simulated;
        _device = context.GpuIds[0];
        return ValueTask.CompletedTask;
    }

    public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var duration = options.Duration(batch.Length);
        if (duration < TimeSpan.Zero)
            throw new SluiceException($"simulate: fixed_ms {options.FixedMs} + per_row_ms {options.PerRowMs} x {batch.Length} rows is negative; a device cannot be held for less than no time");
        await _devices!.RunAsync(_device, duration, cancellationToken).ConfigureAwait(false);
        return batch;
    }

    public IEnumerable<string> Preflight(string stage, ResourceRequest resources, bool gpusAreSimulated)
    {
        if (resources.Gpus <= 0) yield return $"stage '{stage}': simulate needs a simulated GPU; give it resources: {{ gpus: 1 }} or a fraction such as 0.5";
        else if (!gpusAreSimulated) yield return $"stage '{stage}': simulate runs only on simulated GPUs; start the node with --sim-gpus N (or execution.sim_gpus in the job)";
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
