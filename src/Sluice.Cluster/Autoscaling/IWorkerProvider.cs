namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// Starts and stops the workers of a <see cref="WorkerGroup"/> for the cluster autoscaler. A provider only acts; the
/// autoscaler decides (how many, which ones, why). Workers it adds join the cluster on their own (they are
/// <c>sluice worker</c> processes or pods given the group's name), and a worker it removes drains before it leaves.
/// </summary>
public interface IWorkerProvider : IAsyncDisposable
{
    /// <summary>The provider's name as specs and logs show it: <c>local</c>, <c>kubernetes</c>.</summary>
    string Name { get; }

    /// <summary>Asks for <paramref name="count"/> more workers of <paramref name="group"/>. Returns once asked, not once they joined.</summary>
    Task AddAsync(WorkerGroup group, int count, CancellationToken cancellationToken);

    /// <summary>
    /// Removes these workers of <paramref name="group"/> (node ids): each is asked to stop (SIGTERM), drains (finishes
    /// its tasks, serves its blocks until consumed) and leaves. Returns once asked, not once they left.
    /// </summary>
    Task RemoveAsync(WorkerGroup group, IReadOnlyList<string> nodeIds, CancellationToken cancellationToken);
}
