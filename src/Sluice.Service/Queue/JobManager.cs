using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Execution.Stats;
using Sluice.Jobs;
using Sluice.Plan;
using Sluice.Service.History;
using Sluice.Service.Roots;

namespace Sluice.Service.Queue;

/// <summary>
/// The jobs: submitted (bound and checked like the CLI does, plus the roots), queued until admission lets them start
/// (<see cref="Admission"/>), run on the embedded engine, cancelled, resumed, and recorded in the history.
/// All state changes happen under one lock; engine runs and their completions happen outside it.
/// </summary>
internal sealed partial class JobManager : IDisposable
{
    /// <summary>What spec errors name as their source (<c>spec line 3</c>).</summary>
    public const string SpecSource = "spec";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, JobEntry> _jobs = new(StringComparer.Ordinal);
    private readonly List<JobEntry> _order = [];
    private readonly JobStore _store;
    private readonly RootPolicy _roots;
    private readonly JobRegistry _registry;
    private readonly NodeResources _detected;
    private readonly TimeProvider _time;
    private readonly IWorkerRuntime? _cluster;
    private readonly NodeResources _capacity;

    /// <param name="cluster">The cluster's runtime; null = the embedded engine.</param>
    public JobManager(JobStore store, RootPolicy roots, JobRegistry registry, NodeResources detected, NodeResources capacity, TimeProvider time, IWorkerRuntime? cluster = null)
    {
        _store = store;
        _roots = roots;
        _registry = registry;
        _detected = detected;
        _capacity = capacity;
        _time = time;
        _cluster = cluster;
        Interrupted = store.InterruptRunning(time.GetUtcNow());
        foreach (var row in store.All()) Remember(new JobEntry(row, new JobLog(time, row.Log)));
    }

    /// <summary>What admission counts the jobs' minimums against: this node (or the capacity given), or a cluster's nodes now.</summary>
    public NodeResources Capacity => _cluster is null ? _capacity
        : _cluster.Nodes.Aggregate(new NodeResources(0, 0, 0), (sum, n) => sum with { Cpus = sum.Cpus + n.Resources.Cpus, Gpus = sum.Gpus + n.Resources.Gpus, MemoryBytes = sum.MemoryBytes + n.Resources.MemoryBytes });

    /// <summary>Jobs a previous service left running or queued, marked interrupted when this one started.</summary>
    public int Interrupted { get; }

    /// <summary>Binds and checks a spec, records the job and queues it (it starts now when admission allows).</summary>
    /// <exception cref="SpecException">Every problem with the spec, or a path outside the roots, or a minimum that can never fit.</exception>
    public JobEntry Submit(string specText)
    {
        var (spec, demand, total) = Bind(specText);
        var now = _time.GetUtcNow();
        var entry = new JobEntry(new JobRow(NewId(now), spec.Name, specText, JobState.Queued, "waiting for its turn", now, null, null, null, null, null, total, 0), new JobLog(_time))
        {
            Spec = spec,
            Demand = demand,
        };
        entry.Log.Write(Microsoft.Extensions.Logging.LogLevel.Information, "Sluice.Service", $"submitted; its minimum is {demand}");
        lock (_lock)
        {
            Remember(entry);
            _store.Save(entry.Row);
        }
        Pump();
        return entry;
    }

    public JobEntry? Find(string id)
    {
        lock (_lock) return _jobs.GetValueOrDefault(id);
    }

    /// <summary>The jobs, newest first; only those in <paramref name="state"/> when given.</summary>
    public IReadOnlyList<JobEntry> List(JobState? state)
    {
        lock (_lock) return [.. _order.Where(j => state is null || j.Row.State == state).Reverse()];
    }

    /// <summary>A consistent copy of a job's record and live numbers, for the API.</summary>
    public (JobRow Row, ExecutionSnapshot? Live) Read(JobEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock) return (entry.Row, entry.Row.State == JobState.Running ? entry.Execution?.Snapshot : null);
    }

    /// <summary>Stops a queued or running job; null when done, else why it cannot be cancelled.</summary>
    public string? Cancel(JobEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            switch (entry.Row.State)
            {
                case JobState.Queued:
                    entry.Log.Write(Microsoft.Extensions.Logging.LogLevel.Information, "Sluice.Service", "cancelled before it started");
                    Finish(entry, JobState.Cancelled, null, null, null);
                    return null;
                case JobState.Running:
                    entry.StoppingAs ??= JobState.Cancelled;
                    entry.Log.Write(Microsoft.Extensions.Logging.LogLevel.Information, "Sluice.Service", "cancel asked; stopping");
                    entry.Stop?.Cancel();
                    return null;
                default:
                    return $"the job is {entry.Row.State.Name()}; only a queued or running job can be cancelled";
            }
        }
    }

    /// <summary>Queues a failed, cancelled or interrupted job again, writing what is missing (write mode resume).</summary>
    /// <returns>Null when queued; else why it cannot be resumed.</returns>
    /// <exception cref="SpecException">The spec no longer binds (a file it names is gone) or leaves the roots.</exception>
    public string? Resume(JobEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string specText;
        lock (_lock)
        {
            if (!entry.Row.State.IsResumable()) return $"the job is {entry.Row.State.Name()}; only a failed, cancelled or interrupted job can be resumed";
            specText = entry.Row.Spec;
        }
        var (spec, demand, total) = Bind(specText);
        lock (_lock)
        {
            if (!entry.Row.State.IsResumable()) return $"the job is {entry.Row.State.Name()}; only a failed, cancelled or interrupted job can be resumed";
            entry.Spec = spec;
            entry.Demand = demand;
            entry.Mode = WriteMode.Resume;
            entry.StoppingAs = null;
            entry.Row = entry.Row with { State = JobState.Queued, Reason = "waiting for its turn", Ended = null, Error = null, RowsTotal = total ?? entry.Row.RowsTotal };
            entry.Log.Write(Microsoft.Extensions.Logging.LogLevel.Information, "Sluice.Service", "resume asked; queued to write what is missing");
            _store.Save(entry.Row);
        }
        Pump();
        return null;
    }

    private (JobSpec Spec, JobDemand Demand, long? RowsTotal) Bind(string specText)
    {
        // The roots first: binding opens the files a spec names, and nothing outside the roots is to be opened.
        var outside = SpecPaths.Check(specText, SpecSource, _registry, _roots);
        if (outside.Count > 0) throw new SpecException(outside);
        var spec = JobSpecParser.Parse(specText, SpecSource, new SpecOptions { Registry = _registry, Detected = _detected, OnCluster = _cluster is not null });
        var demand = JobDemand.Of(spec);
        // A cluster's nodes come and go: its floors are checked when the job starts, against the nodes then.
        if (_cluster is null && Admission.NeverFits(demand, Capacity) is { } never) throw new SpecException([new SpecError("stages", null, never, new SpecLocation(SpecSource, null))]);
        return (spec, demand, RowsTotal(spec));
    }

    /// <summary>The input's rows when its source can tell (Parquet metadata exactly, text and JSON Lines from a sample): what % done and the ETA divide by.</summary>
    private static long? RowsTotal(JobSpec spec)
    {
        try
        {
            return spec.Dataset().Plan.Chain().OfType<ReadOperator>().FirstOrDefault()?.Source.Estimate()?.Rows;
        }
        catch (SluiceException)
        {
            return null;
        }
    }

    private void Remember(JobEntry entry)
    {
        _jobs[entry.Row.Id] = entry;
        _order.Add(entry);
    }

    /// <summary>Sortable by submission, unique: the time to the second, then 6 random hex digits.</summary>
    private static string NewId(DateTimeOffset now) =>
        $"{now.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    public void Dispose()
    {
        lock (_lock)
            foreach (var job in _order)
            {
                job.Stop?.Dispose();
                job.Loggers?.Dispose();
            }
    }
}
