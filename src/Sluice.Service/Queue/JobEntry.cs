using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Jobs;
using Sluice.Service.History;

namespace Sluice.Service.Queue;

/// <summary>One job the service knows: its record, and while it lives, its bound spec, its run and its log. Changed only under the manager's lock.</summary>
internal sealed class JobEntry(JobRow row, JobLog log)
{
    public JobRow Row { get; set; } = row;

    public JobLog Log { get; } = log;

    /// <summary>The bound spec, while queued or running (a job from the history is bound again when resumed).</summary>
    public JobSpec? Spec { get; set; }

    public JobDemand Demand { get; set; } = JobDemand.None;

    /// <summary>How the next run writes: the spec's mode, or resume.</summary>
    public WriteMode? Mode { get; set; }

    public JobExecution? Execution { get; set; }

    public CancellationTokenSource? Stop { get; set; }

    /// <summary>The running job's logger factory (its loggers write to <see cref="Log"/>); disposed when the run ends.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? Loggers { get; set; }

    /// <summary>Ends when the running job's end is recorded.</summary>
    public Task? Observer { get; set; }

    /// <summary>Why the run is being stopped: cancelled by a user, or interrupted because the service stops.</summary>
    public JobState? StoppingAs { get; set; }
}
