using System.Collections.Concurrent;
using System.Diagnostics;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.Bench;

/// <summary>
/// Diagnostics only (<c>--trace</c>): wraps a processor and records when each actor initialized and
/// when each call ran, so the job's timeline can be compared with the tight loop. Adds two clock reads per call.
/// </summary>
internal sealed class TracingProcessor(IBatchProcessor inner, Trace trace) : IBatchProcessor
{
    private int _actor;

    public async ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
    {
        _actor = context.ActorIndex;
        var start = trace.Now;
        await inner.InitializeAsync(context, cancellationToken).ConfigureAwait(false);
        trace.Events.Add(new(_actor, "init", start, trace.Now, 0));
    }

    public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var start = trace.Now;
        var result = await inner.ProcessAsync(batch, cancellationToken).ConfigureAwait(false);
        trace.Events.Add(new(_actor, "call", start, trace.Now, batch.Length));
        return result;
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

internal sealed class Trace
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public sealed record Event(int Actor, string Kind, double Start, double End, int Rows);

    public double Now => _clock.Elapsed.TotalSeconds;

    public ConcurrentBag<Event> Events { get; } = [];

    public IEnumerable<string> Summary(double jobEnd)
    {
        foreach (var g in Events.GroupBy(e => e.Actor).OrderBy(g => g.Key))
        {
            var init = g.FirstOrDefault(e => e.Kind == "init");
            var calls = g.Where(e => e.Kind == "call").OrderBy(e => e.Start).ToList();
            if (calls.Count == 0) continue;
            var first = calls[0];
            var inCall = calls.Sum(c => c.End - c.Start);
            yield return FormattableString.Invariant(
                $"actor {g.Key}: init {init?.Start:F2}-{init?.End:F2} s, calls {calls.Count} ({calls.Sum(c => c.Rows)} rows), first call {first.Start:F2}-{first.End:F2} s ({first.Rows} rows), last call ends {calls[^1].End:F2} s, sum of call spans {inCall:F2} s, idle before job end {jobEnd - calls[^1].End:F2} s");
        }
    }
}
