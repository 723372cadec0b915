using Microsoft.Extensions.Hosting;

namespace Sluice.Service.Queue;

/// <summary>Opens the history when the host starts (marking jobs a dead service left running as interrupted) and stops the running jobs when it stops.</summary>
internal sealed class JobLifetime(JobManager manager) : IHostedService
{
    /// <summary>A job is given this long to stop cleanly (drain, abort its sink) before the service exits anyway.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => manager.StopAllAsync(StopTimeout);
}
