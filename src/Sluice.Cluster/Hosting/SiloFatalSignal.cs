namespace Sluice.Cluster.Hosting;

/// <summary>
/// A worker's answer to a fatal silo error, in place of Orleans' <c>Environment.FailFast</c>: the usual one is "I have
/// been told I am dead" (the cluster declared this silo dead, e.g. after a pause or a partition). The process lives on;
/// its supervisor (<see cref="WorkerSupervisor"/>) drops the silo and builds a new one that joins again.
/// </summary>
internal sealed class SiloFatalSignal : IFatalErrorHandler
{
    private readonly TaskCompletionSource<string> _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with what Orleans said, once the silo has hit a fatal error.</summary>
    public Task<string> Fatal => _fatal.Task;

    public bool IsUnexpected(Exception exception) => exception is not ThreadAbortException;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null) =>
        _fatal.TrySetResult($"the silo stopped on a fatal error: {context ?? exception?.GetType().Name ?? "no reason given"}");
}
