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
}
