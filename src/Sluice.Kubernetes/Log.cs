using Microsoft.Extensions.Logging;

namespace Sluice.Kubernetes;

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: deployment {Namespace}/{Deployment} scaled from {From} to {To} replicas ({Reason})")]
    public static partial void Scaled(ILogger logger, string @namespace, string deployment, int from, int to, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: deployment {Namespace}/{Deployment} left at {Replicas} replicas ({Reason})")]
    public static partial void Unchanged(ILogger logger, string @namespace, string deployment, int replicas, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: pod {Namespace}/{Pod} marked to go first (pod-deletion-cost {Cost})")]
    public static partial void Marked(ILogger logger, string @namespace, string pod, string cost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: pod {Namespace}/{Pod} to remove is already gone; the scale-down still counts it")]
    public static partial void PodGone(ILogger logger, string @namespace, string pod);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: deployment {Namespace}/{Deployment} changed under us (409 Conflict); reading its scale again (attempt {Attempt})")]
    public static partial void Conflict(ILogger logger, string @namespace, string deployment, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: {Count} pod(s) of deployment {Namespace}/{Deployment} are not ready ({Pods}): the ReplicaSet deletes not-ready pods before the ones marked with pod-deletion-cost, so this scale-down may take them and leave a marked worker running until the next one")]
    public static partial void RankedFirst(ILogger logger, string @namespace, string deployment, int count, string pods);
}
