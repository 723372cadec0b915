using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sluice.Execution;
using Sluice.Execution.Stats;
using Sluice.Service.Api;
using Sluice.Service.History;

namespace Sluice.Service.Queue;

/// <summary>Starting admitted jobs, watching them end, and stopping them all when the service stops.</summary>
internal sealed partial class JobManager
{
    private bool _stopping;

    /// <summary>
    /// Starts every queued job that admission lets start, oldest first; a job that does not fit keeps its place and
    /// says why, and a later, smaller one may start before it. Called on submit, on resume and whenever a job ends.
    /// </summary>
    public void Pump()
    {
        lock (_lock)
        {
            if (_stopping) return;
            foreach (var entry in _order.Where(j => j.Row.State == JobState.Queued).ToList())
            {
                var running = _order.Where(j => j.Row.State == JobState.Running).ToList();
                // On a cluster one job runs at a time: its workers' block stores and job files are the job's.
                var decision = _cluster is not null && running.Count > 0
                    ? new AdmissionDecision(false, $"the cluster runs one job at a time; waiting for job {running[0].Row.Id}")
                    : Admission.Decide(entry.Demand, running.Select(j => j.Demand), Capacity);
                if (decision.Start) Start(entry);
                else if (entry.Row.Reason != decision.Reason)
                {
                    entry.Row = entry.Row with { Reason = decision.Reason };
                    entry.Log.Write(LogLevel.Information, "Sluice.Service", decision.Reason);
                    _store.Save(entry.Row);
                }
            }
        }
    }

    /// <summary>Under the lock.</summary>
    private void Start(JobEntry entry)
    {
        var now = _time.GetUtcNow();
        entry.Row = entry.Row with { State = JobState.Running, Reason = null, Started = now, Ended = null, Error = null, Runs = entry.Row.Runs + 1 };
        entry.Log.Write(LogLevel.Information, "Sluice.Service", entry.Mode == Contracts.WriteMode.Resume ? "started (resuming)" : "started");
        entry.Stop = new CancellationTokenSource();
        try
        {
            var spec = entry.Spec!;
            entry.Loggers = entry.Log.Factory();
            // The metrics' job label: the job's id, unique where names repeat (the meter keeps the last finished jobs only).
            var options = spec.Options(entry.Mode) with { LoggerFactory = entry.Loggers, TimeProvider = _time, JobName = entry.Row.Id };
            // On a cluster the nodes and their resources come from the runtime (its membership), not from this machine.
            if (_cluster is not null) options = options with { Runtime = _cluster, Resources = null };
            entry.Execution = JobExecution.Start(spec.Dataset(), spec.Sink(), options, entry.Stop.Token);
        }
        catch (Exception e) when (e is SluiceException or ArgumentException or IOException or InvalidOperationException)
        {
            Finish(entry, JobState.Failed, null, e.Message, null);
            return;
        }
        _store.Save(entry.Row);
        entry.Observer = ObserveAsync(entry, entry.Execution);
    }

    private async Task ObserveAsync(JobEntry entry, JobExecution execution)
    {
        JobState state;
        ExecutionSnapshot final;
        string? error = null;
        try
        {
            final = await execution.Completion.ConfigureAwait(false);
            state = JobState.Succeeded;
        }
        catch (OperationCanceledException)
        {
            final = execution.Snapshot;
            lock (_lock) state = entry.StoppingAs ?? JobState.Cancelled;
        }
#pragma warning disable CA1031 // Whatever ended the job is its error: the service records it and goes on with the others.
        catch (Exception e)
#pragma warning restore CA1031
        {
            final = execution.Snapshot;
            state = JobState.Failed;
            error = e.Message;
        }
        lock (_lock) Finish(entry, state, final, error, null);
        Pump();
    }

    /// <summary>Under the lock: the job's final state, stats and log, written to the history.</summary>
    private void Finish(JobEntry entry, JobState state, ExecutionSnapshot? final, string? error, string? reason)
    {
        entry.Log.Write(state == JobState.Failed ? LogLevel.Error : LogLevel.Information, "Sluice.Service", error is null ? state.Name() : $"{state.Name()}: {error}");
        entry.Row = entry.Row with
        {
            State = state,
            Reason = reason,
            Ended = _time.GetUtcNow(),
            Error = error,
            StatsJson = final is null ? entry.Row.StatsJson : JsonSerializer.Serialize(final, ApiJson.Options),
            Log = entry.Log.Text(),
        };
        entry.Spec = null;
        entry.Execution = null;
        entry.Stop?.Dispose();
        entry.Stop = null;
        entry.Loggers?.Dispose();
        entry.Loggers = null;
        _store.Save(entry.Row);
    }

    /// <summary>
    /// The service stops: no job starts any more, running jobs are stopped (their committed output stays) and recorded as
    /// interrupted, so that <c>POST /resume</c> continues them on the next start.
    /// </summary>
    public async Task StopAllAsync(TimeSpan timeout)
    {
        List<Task> running;
        lock (_lock)
        {
            _stopping = true;
            running = [];
            foreach (var entry in _order.Where(j => j.Row.State == JobState.Running))
            {
                entry.StoppingAs = JobState.Interrupted;
                entry.Stop?.Cancel();
                if (entry.Observer is { } observer) running.Add(observer);
            }
            foreach (var entry in _order.Where(j => j.Row.State == JobState.Queued).ToList())
                Finish(entry, JobState.Interrupted, null, "the service stopped before the job started", null);
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A job still stopping after the timeout stays "running" in the history: the next start marks it interrupted.
        }
    }
}
