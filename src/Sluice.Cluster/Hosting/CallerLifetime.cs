using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// The lifetime of a node host that Sluice builds itself (<c>sluice worker</c>, the CLI's driver, tests): the caller owns
/// the process's signals and stops the host. The console lifetime it replaces would stop the host on a signal behind its
/// caller's back, and hold the process's exit until the host is disposed, which a stop abandoned for a dead Redis
/// (<see cref="NodeStop"/>) never waits for.
/// </summary>
internal sealed class CallerLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
