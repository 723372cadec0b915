using Microsoft.Extensions.Logging;

namespace Sluice.Execution;

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "stage '{Stage}' pool {Decision}")]
    public static partial void Scaling(ILogger logger, string stage, string decision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stage '{Stage}' task on {Rows} retried (attempt {Attempt}): {Error}")]
    public static partial void Retry(ILogger logger, string stage, string rows, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stage '{Stage}' actor {Actor} lost while starting: {Error}")]
    public static partial void StartLost(ILogger logger, string stage, int actor, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the sink failed to abort after the job failed: {Error}")]
    public static partial void AbortFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "an actor failed to release at the end of the job: {Error}")]
    public static partial void ReleaseFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "plan:\n{Plan}")]
    public static partial void Plan(ILogger logger, string plan);

    [LoggerMessage(Level = LogLevel.Information, Message = "resume: {Tasks} read tasks already complete, {Blocks} blocks already committed")]
    public static partial void Resume(ILogger logger, int tasks, int blocks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Stall}")]
    public static partial void Stalled(ILogger logger, string stall);

    [LoggerMessage(Level = LogLevel.Information, Message = "stage '{Stage}' task on {Rows} running {Seconds:0.#} s on actor {Actor} (node {Node}): backup copy on actor {Backup} (node {BackupNode})")]
    public static partial void Backup(ILogger logger, string stage, string rows, double seconds, int actor, string node, int backup, string backupNode);

    [LoggerMessage(Level = LogLevel.Information, Message = "stage '{Stage}' task on {Rows}: the {Winner} copy finished first; the other was cancelled and its output discarded")]
    public static partial void CopyWon(ILogger logger, string stage, string rows, string winner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node} suspected: no task finished for {Seconds:0.#} s ({Running} running, each past its straggler threshold); its actors are retired and replaced elsewhere, its tasks get backup copies")]
    public static partial void NodeSuspected(ILogger logger, string node, double seconds, int running);

    [LoggerMessage(Level = LogLevel.Information, Message = "node {Node} answers again (a task of stage '{Stage}' finished there): no longer suspected")]
    public static partial void NodeAnswers(ILogger logger, string node, string stage);

    [LoggerMessage(Level = LogLevel.Information, Message = "stage '{Stage}' copy of the task on {Rows} dropped ({Error}); its other copy carries on")]
    public static partial void CopyDropped(ILogger logger, string stage, string rows, string error);
}
