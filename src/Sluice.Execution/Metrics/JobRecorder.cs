using Microsoft.Extensions.Logging;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Metrics;

/// <summary>
/// Turns one job's published snapshots into metric values. It is fed the snapshots (a timer samples the live one, every
/// collection reads it, the end feeds the final one) and never touches the executor's state, so the executor's loop
/// pays nothing for metrics. Scaling decisions are counted from the engine's log, where each one is written once.
/// </summary>
internal sealed class JobRecorder
{
    /// <summary>How often the live snapshot is sampled between collections: the resolution of back-pressure time.</summary>
    private static readonly TimeSpan SamplePeriod = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly List<StageTotals> _stages = [];
    private readonly Dictionary<(string Stage, string Direction), long> _decisions = [];
    private readonly List<TimeSpan> _deviceBusy = [];
    private Func<ExecutionSnapshot>? _live;
    private Func<ProgressEstimate?>? _progress;
    private ProgressEstimate? _lastProgress;
    private ITimer? _timer;
    private ExecutionSnapshot _last = ExecutionSnapshot.Empty;

    public JobRecorder(string job, string node)
    {
        Job = job;
        Node = node;
        JobTags = [new(SluiceMetrics.JobAttribute, job)];
        SluiceInstruments.EnsureCreated();
    }

    public string Job { get; }

    public string Node { get; }

    public KeyValuePair<string, object?>[] JobTags { get; }

    /// <summary>A logger factory that counts the scaling decisions the engine logs, then passes everything on to <paramref name="inner"/>.</summary>
    public ILoggerFactory Logging(ILoggerFactory? inner) => new DecisionCountingLoggerFactory(inner, this);

    /// <summary>Records <paramref name="live"/> (and <paramref name="progress"/>) until <paramref name="completion"/> ends, and the final numbers after.</summary>
    public void Track(Func<ExecutionSnapshot> live, Func<ProgressEstimate?> progress, Task<ExecutionSnapshot> completion, TimeProvider time)
    {
        _live = live;
        _progress = progress;
        JobMetricsRegistry.Add(this);
        _timer = time.CreateTimer(_ => Refresh(), null, SamplePeriod, SamplePeriod);
        completion.ContinueWith(t => Finish(t.IsCompletedSuccessfully ? t.Result : live()), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Finish(ExecutionSnapshot final)
    {
        lock (_gate)
        {
            Observe(final);
            if (_progress is { } progress && final.Operators.Count > 0 && final.Operators[^1].Done) _lastProgress = progress();
            // The executor is not kept alive by its metrics: from here on the final numbers are reported as they are.
            _live = null;
            _progress = null;
            _timer?.Dispose();
        }
        JobMetricsRegistry.Finished(this);
    }

    /// <summary>Reads the live snapshot, if the job still runs.</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            if (_live is { } live) Observe(live());
            if (_progress is { } progress) _lastProgress = progress();
        }
    }

    public void Observe(ExecutionSnapshot s)
    {
        lock (_gate)
        {
            if (s.Elapsed < _last.Elapsed) return;  // an older snapshot than one already seen: nothing new in it
            var since = s.Elapsed - _last.Elapsed;
            foreach (var op in s.Operators)
            {
                var stage = _stages.Find(t => t.Stage == op.Name);
                if (stage is null) _stages.Add(stage = new StageTotals(Job, op.Name, op.Kind));
                stage.Observe(op, since);
            }
            for (var i = 0; i < s.DeviceBusy.Count; i++)
            {
                if (i == _deviceBusy.Count) _deviceBusy.Add(TimeSpan.Zero);
                if (s.DeviceBusy[i] > _deviceBusy[i]) _deviceBusy[i] = s.DeviceBusy[i];
            }
            _last = s;
        }
    }

    /// <summary>Counts one scaling decision, as the engine wrote it ("up 2: …", "down 1: …", "hold: …").</summary>
    public void Decided(string stage, string decision)
    {
        var direction = decision.StartsWith("up", StringComparison.Ordinal) ? "up"
            : decision.StartsWith("down", StringComparison.Ordinal) ? "down" : "hold";
        lock (_gate)
        {
            _decisions[(stage, direction)] = _decisions.GetValueOrDefault((stage, direction)) + 1;
        }
    }

    /// <summary>Calls <paramref name="each"/> for every stage, under the lock (a consistent reading of the job).</summary>
    public void ForEachStage(Action<StageTotals> each)
    {
        lock (_gate)
        {
            foreach (var stage in _stages) each(stage);
        }
    }

    public void ForEachDecision(Action<string, string, long> each)
    {
        lock (_gate)
        {
            foreach (var ((stage, direction), n) in _decisions) each(stage, direction, n);
        }
    }

    /// <summary>How far the job is, where its input's size is known.</summary>
    public ProgressEstimate? Progress()
    {
        lock (_gate) return _lastProgress;
    }

    /// <summary>The latest snapshot and the largest busy time seen per device.</summary>
    public (ExecutionSnapshot Last, TimeSpan[] DeviceBusy) Latest()
    {
        lock (_gate) return (_last, [.. _deviceBusy]);
    }
}
