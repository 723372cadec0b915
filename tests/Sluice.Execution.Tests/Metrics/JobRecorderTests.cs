using Microsoft.Extensions.Logging;
using Sluice.Contracts;
using Sluice.Plan;
using Sluice.Execution.Metrics;
using Sluice.Execution.Stats;

namespace Sluice.Execution.Tests.Metrics;

public class JobRecorderTests
{
    private static OperatorSnapshot Op(string name, long rows, long retries = 0, string? backPressure = null, string kind = "actors") =>
        new(name, kind, rows, rows / 10, rows * 8, 1, rows / 10, retries, 2, 2048, 4096, 3, 1, 1, 4, backPressure, null, 100, TimeSpan.Zero, false);

    private static ExecutionSnapshot At(double seconds, params OperatorSnapshot[] ops) =>
        new(ops, 0, 0, 1L << 30, TimeSpan.FromSeconds(seconds), "");

    private static StageTotals Stage(JobRecorder r, string name)
    {
        StageTotals? found = null;
        r.ForEachStage(s => { if (s.Stage == name) found = s; });
        return found!;
    }

    [Fact]
    public void Observe_OlderOrSmallerSnapshots_CountersNeverGoBack()
    {
        var r = new JobRecorder("j", "local");
        r.Observe(At(1, Op("embed", 100, retries: 1)));
        r.Observe(At(2, Op("embed", 300, retries: 2)));
        r.Observe(At(1.5, Op("embed", 200, retries: 1)));   // published before the last one: ignored
        Assert.Equal(300, Stage(r, "embed").Rows);
        r.Observe(At(3, Op("embed", 250, retries: 0)));     // a smaller count: the counter holds
        Assert.Equal(300, Stage(r, "embed").Rows);
        Assert.Equal(2, Stage(r, "embed").Retries);
        r.Observe(At(4, Op("embed", 400, retries: 3)));
        Assert.Equal(400, Stage(r, "embed").Rows);
        Assert.Equal(3, Stage(r, "embed").Retries);
        Assert.Equal(40, Stage(r, "embed").Tasks);
    }

    [Fact]
    public void Observe_TokensAndBackups_AreCountersThatNeverGoBack()
    {
        var r = new JobRecorder("j", "local");
        r.Observe(At(1, Op("generate", 10) with { TokensOut = 500, BackupsLaunched = 1 }));
        r.Observe(At(2, Op("generate", 20) with { TokensOut = 1200, BackupsLaunched = 2, BackupsWon = 1 }));
        r.Observe(At(1.5, Op("generate", 15) with { TokensOut = 800 }));   // published before the last one: ignored
        Assert.Equal(1200, Stage(r, "generate").Tokens);
        Assert.Equal(2, Stage(r, "generate").Backups);
        Assert.Equal(1, Stage(r, "generate").BackupsWon);
    }

    [Fact]
    public void Observe_BackPressuredIntervals_SumsTheirTime()
    {
        var r = new JobRecorder("j", "local");
        r.Observe(At(1, Op("read", 10, backPressure: "output full")));
        r.Observe(At(3, Op("read", 20)));                         // 1 s..3 s was back-pressured
        r.Observe(At(4, Op("read", 30, backPressure: "output full")));  // 3 s..4 s was not
        r.Observe(At(4.5, Op("read", 40)));                       // 4 s..4.5 s was
        Assert.Equal(2.5, Stage(r, "read").BackpressureSeconds, 6);
    }

    [Fact]
    public void Decided_FromTheEngineLog_CountsByDirectionAndPassesTheLogOn()
    {
        var r = new JobRecorder("j", "local");
        var inner = new ListLoggerFactory();
        using var factory = r.Logging(inner);
        var logger = factory.CreateLogger("Sluice.Executor");
        Log.Scaling(logger, "embed", "up 2: queue 48 blocks, utilization 1.9");
        Log.Scaling(logger, "embed", "up 1: queue 12 blocks");
        Log.Scaling(logger, "embed", "down 1: idle 10 s");
        var counts = new Dictionary<(string, string), long>();
        r.ForEachDecision((stage, direction, n) => counts[(stage, direction)] = n);
        Assert.Equal(2, counts[("embed", "up")]);
        Assert.Equal(1, counts[("embed", "down")]);
        Assert.Equal(3, inner.Lines.Count(l => l.Contains("stage 'embed' pool", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Collect_RealJob_RowsAreMonotonicLabelledAndEndAtTheRowsWritten()
    {
        var job = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var ds = Dataset.Range(3_000, new ReadOptions { BlockRows = 100 })
            .MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "model", Pool = new PoolSize(1, 2), MaxConcurrency = 1 });
        var sink = new MemorySink();
        var run = JobExecution.Start(ds, sink, new ExecutionOptions { Resources = new NodeResources(2, 0, 4L << 30), JobName = job });
        var last = new Dictionary<string, double>();
        while (!run.Completion.IsCompleted)
        {
            foreach (var reading in MetricsCollector.Collect(job).Where(x => x.Instrument == "sluice.stage.rows"))
            {
                var stage = reading.Tag(SluiceMetrics.StageAttribute)!;
                Assert.True(reading.Value >= last.GetValueOrDefault(stage), $"{stage} went from {last.GetValueOrDefault(stage)} to {reading.Value}");
                last[stage] = reading.Value;
            }
            await Task.Delay(5);
        }
        var final = await run.Completion;
        var readings = MetricsCollector.Collect(job);
        var rows = readings.Where(x => x.Instrument == "sluice.stage.rows").ToList();
        Assert.Equal(final.Operators.Select(o => o.Name).Order(), rows.Select(x => x.Tag(SluiceMetrics.StageAttribute)).Order());
        var written = Assert.Single(rows, x => x.Tag(SluiceMetrics.StageKindAttribute) == "write");
        Assert.Equal(final.Operators[^1].RowsOut, (long)written.Value);
        Assert.Equal(sink.Rows, (long)written.Value);
        Assert.Equal(3_000, sink.Rows);
        Assert.All(rows, x => Assert.Equal(3_000, x.Value));
        // A range has no size known before it is read: no progress is reported, rather than a made-up one.
        Assert.DoesNotContain(readings, x => x.Instrument == "sluice.job.progress");
        // Actors are reported per state, and only for the actor pool.
        var actors = readings.Where(x => x.Instrument == "sluice.stage.actors").ToList();
        Assert.Equal(["busy", "idle", "starting"], actors.Select(x => x.Tag("state")).Order());
        Assert.All(actors, x => Assert.Equal("model", x.Tag(SluiceMetrics.StageAttribute)));
        // Only low-cardinality attributes: no block, task or row ids.
        var allowed = new HashSet<string> { SluiceMetrics.JobAttribute, SluiceMetrics.StageAttribute, SluiceMetrics.StageKindAttribute, SluiceMetrics.NodeAttribute, "state", "direction", "sluice.device" };
        Assert.All(readings, x => Assert.Subset(allowed, x.Tags.Keys.ToHashSet()));
    }

    [Fact]
    public async Task Collect_SameJobRunTwice_ReportsOneSeriesPerStageForTheLatestRun()
    {
        var job = "again-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var rows in new[] { 500, 200 })
        {
            var ds = Dataset.Range(rows, new ReadOptions { BlockRows = 100 }).MapBatches<TripleProcessor>(new MapBatchesOptions { Name = "model" });
            await JobExecution.Start(ds, new MemorySink(), new ExecutionOptions { Resources = new NodeResources(2, 0, 4L << 30), JobName = job }).Completion;
        }
        var written = Assert.Single(MetricsCollector.Collect(job), x => x.Instrument == "sluice.stage.rows" && x.Tag(SluiceMetrics.StageKindAttribute) == "write");
        Assert.Equal(200, written.Value);
    }

    private sealed class ListLoggerFactory : ILoggerFactory
    {
        public List<string> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new ListLogger(Lines);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines) lines.Add(formatter(state, exception));
            }
        }
    }
}
