using System.Diagnostics;
using Sluice.Cluster;
using Sluice.Execution;
using Sluice.Execution.Stats;

namespace Sluice.Cli.Commands;

/// <summary>
/// Fails a cluster job that cannot progress because its Redis is gone: while Redis is unreachable, running actors go on
/// (the nodes still talk), but a new actor cannot start (the grain directory lives in Redis) and its start would wait for
/// the 10-minute response timeout. When Redis has been unreachable and no stage has moved (rows, tasks, ready actors)
/// for <see cref="StallTimeout"/>, the job is cancelled with one line saying so. Committed output is kept for a resume.
/// </summary>
internal sealed class RedisStallWatch : IDisposable
{
    /// <summary>
    /// How long a job may stand still while Redis is unreachable before it is failed: longer than a batch of a large model
    /// takes on its device (a few seconds), short enough that the operator hears within seconds, not minutes.
    /// </summary>
    internal static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly OrleansWorkerRuntime _runtime;
    private readonly CancellationTokenSource _cancel;
    private Task _watching = Task.CompletedTask;

    public RedisStallWatch(OrleansWorkerRuntime runtime, CancellationToken cancellationToken)
    {
        _runtime = runtime;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    /// <summary>The token the job runs under: cancelled by the caller's, or by this watch when the job is stalled.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>Why the watch cancelled the job (one line, Redis masked), or null when it did not.</summary>
    public string? Reason { get; private set; }

    public void Watch(JobExecution job) => _watching = Task.Run(() => WatchAsync(job));

    private async Task WatchAsync(JobExecution job)
    {
        var last = Fingerprint(job.Snapshot);
        var still = Stopwatch.StartNew();
        while (!job.Completion.IsCompleted && !_cancel.IsCancellationRequested)
        {
            await Task.WhenAny(job.Completion, Task.Delay(Period, CancellationToken.None)).ConfigureAwait(false);
            var now = Fingerprint(job.Snapshot);
            if (now != last || _runtime.MembershipProblem is null)
            {
                last = now;
                still.Restart();
                continue;
            }
            if (still.Elapsed < StallTimeout) continue;
            Reason = $"the job cannot progress: {_runtime.MembershipProblem}, and no stage has moved for {still.Elapsed.TotalSeconds:0} s " +
                "(new actors cannot start without Redis: the grain directory lives there). Start Redis again, then rerun the job: what was committed is kept";
            await _cancel.CancelAsync().ConfigureAwait(false);
            return;
        }
    }

    /// <summary>What changes when a job moves at all: rows out, tasks done and actors ready, over every stage.</summary>
    private static long Fingerprint(ExecutionSnapshot snapshot) => snapshot.Operators.Sum(o => o.RowsOut + o.TasksDone + o.ActorsReady);

    /// <summary>Call once the job has ended: the watch ends with it.</summary>
    public void Dispose()
    {
        try
        {
            _watching.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _cancel.Dispose();
    }
}
