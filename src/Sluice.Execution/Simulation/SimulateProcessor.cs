using System.Text.RegularExpressions;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Execution.Simulation;

/// <summary>
/// How long a simulated model holds its device per batch: <c>fixed + per_row x rows</c>; and the faults it can be told
/// to show, for tests and benchmarks of stragglers and bad rows: a share <paramref name="SlowFraction"/> of batches
/// (drawn at random per call, as a slow node would be) holds the device <paramref name="SlowFactor"/> times longer, and a
/// batch holding a row whose text matches <paramref name="FailOn"/> throws, naming the row.
/// </summary>
/// <param name="SlowFraction">Share of batches that are slow, 0..1.</param>
/// <param name="SlowFactor">How many times longer a slow batch holds its device (1 or more).</param>
/// <param name="FailOn">A .NET regular expression: a batch with a row whose string columns match it fails as bad input.</param>
public sealed record SimulateOptions(double FixedMs = 0, double PerRowMs = 1, double SlowFraction = 0, double SlowFactor = 1, string? FailOn = null) : IValidatedOptions
{
    /// <summary>How long <see cref="FailOn"/> may take on one value: a pattern cannot stall a stage.</summary>
    internal static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    public TimeSpan Duration(int rows) => TimeSpan.FromMilliseconds(FixedMs + PerRowMs * rows);

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (!(FixedMs >= 0)) yield return new(nameof(FixedMs), FixedMs.ToString(inv), "give 0 or more milliseconds");
        if (!(PerRowMs >= 0)) yield return new(nameof(PerRowMs), PerRowMs.ToString(inv), "give 0 or more milliseconds");
        if (!(SlowFraction is >= 0 and <= 1)) yield return new(nameof(SlowFraction), SlowFraction.ToString(inv), "give a share of batches from 0 to 1, e.g. 0.05");
        if (!(SlowFactor >= 1)) yield return new(nameof(SlowFactor), SlowFactor.ToString(inv), "give 1 or more: how many times longer a slow batch takes");
        if (FailOn is not null && BadPattern(FailOn) is { } why) yield return new(nameof(FailOn), FailOn, $"give a .NET regular expression ({why})");
    }

    private static string? BadPattern(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }
}

/// <summary>
/// The <c>simulate</c> op: a model stage on a simulated GPU. Each batch holds the actor's device
/// exclusively for <see cref="SimulateOptions.Duration"/> (actors sharing a device with fractional
/// gpus queue for it) and passes its rows through unchanged.
/// </summary>
public sealed class SimulateProcessor(SimulateOptions options) : IBatchProcessor, IPreflightCheck
{
    private readonly Regex? _failOn = options.FailOn is { } p ? new Regex(p, RegexOptions.CultureInvariant, SimulateOptions.MatchTimeout) : null;
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
        if (options.SlowFraction > 0 && Random.Shared.NextDouble() < options.SlowFraction) duration *= options.SlowFactor;
        await _devices!.RunAsync(_device, duration, cancellationToken).ConfigureAwait(false);
        if (_failOn is not null && FirstMatch(batch) is { } row)
            throw new BadInputException($"simulate: row {row + 1} of the batch matches fail_on '{options.FailOn}'");
        return batch;
    }

    /// <summary>The first row (0-based) of <paramref name="batch"/> with a string value that <see cref="SimulateOptions.FailOn"/> matches.</summary>
    private int? FirstMatch(RecordBatch batch)
    {
        var columns = batch.Arrays.OfType<StringArray>().ToList();
        for (var i = 0; i < batch.Length; i++)
        {
            foreach (var c in columns)
            {
                if (c.GetString(i) is { } text && _failOn!.IsMatch(text)) return i;
            }
        }
        return null;
    }

    public IEnumerable<string> Preflight(string stage, ResourceRequest resources, bool gpusAreSimulated)
    {
        if (resources.Gpus <= 0) yield return $"stage '{stage}': simulate needs a simulated GPU; give it resources: {{ gpus: 1 }} or a fraction such as 0.5";
        else if (!gpusAreSimulated) yield return $"stage '{stage}': simulate runs only on simulated GPUs; start the node with --sim-gpus N (or execution.sim_gpus in the job)";
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
