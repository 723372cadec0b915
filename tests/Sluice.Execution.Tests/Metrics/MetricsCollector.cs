using System.Diagnostics.Metrics;
using Sluice.Execution.Metrics;

namespace Sluice.Execution.Tests.Metrics;

/// <summary>One measurement read from the "Sluice" meter, with its attributes.</summary>
internal sealed record Reading(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
{
    public string? Tag(string name) => Tags.GetValueOrDefault(name) as string;
}

/// <summary>Reads the engine's meter the way an exporter does: a listener, then one collection of the observable instruments.</summary>
internal static class MetricsCollector
{
    /// <summary>Every instrument of the meter (name, unit, kind): what an exporter can see.</summary>
    public static List<Instrument> Instruments()
    {
        SluiceInstruments.EnsureCreated();
        var all = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == SluiceMetrics.MeterName) all.Add(instrument);
            },
        };
        listener.Start();
        return all;
    }

    /// <summary>The measurements of <paramref name="job"/> now (other tests' jobs, running in parallel, are left out).</summary>
    public static List<Reading> Collect(string job)
    {
        SluiceInstruments.EnsureCreated();
        var got = new List<Reading>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == SluiceMetrics.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(got, i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(got, i, v, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return got.Where(r => r.Tag(SluiceMetrics.JobAttribute) == job).ToList();
    }

    private static void Add(List<Reading> into, Instrument i, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var (k, v) in tags) dict[k] = v;
        into.Add(new Reading(i.Name, value, dict));
    }
}
