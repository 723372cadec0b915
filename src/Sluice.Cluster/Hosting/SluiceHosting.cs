using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// Hosts a Sluice node inside an application's own .NET generic host, the way Orleans' hosting packages extend it:
/// options checked when the node is added (<see cref="ClusterNodeOptionsValidator"/>), the silo started and stopped
/// with the host. <c>sluice worker</c> and <c>sluice run --cluster</c> use these very extensions.
/// </summary>
/// <example>
/// <code>
/// var builder = Host.CreateApplicationBuilder(args);
/// builder.AddSluiceWorker(new ClusterNodeOptions { Redis = "redis://10.0.0.2:6379", Listen = "0.0.0.0:11111", Resources = NodeResources.Detect() });
/// await builder.Build().RunAsync();   // SIGTERM: drains, then leaves the cluster
/// </code>
/// </example>
public static class SluiceHosting
{
    /// <summary>The most a host waits for a worker to drain and leave beyond its drain timeout.</summary>
    private static readonly TimeSpan LeaveAllowance = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Adds a worker node: it joins when the host starts; when the host stops it drains (no new tasks or actors, the
    /// tasks it holds finish, its blocks go to their jobs' drivers, bounded by <see cref="ClusterNodeOptions.DrainTimeout"/>)
    /// and then leaves. The host's shutdown timeout is raised to cover the drain. Refuses invalid options at once.
    /// </summary>
    public static IHostApplicationBuilder AddSluiceWorker(this IHostApplicationBuilder builder, ClusterNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddWorker(builder, options, null);
        return builder;
    }

    /// <summary>
    /// Adds a driver node: once the host has started, resolve <see cref="OrleansWorkerRuntime"/> from its services and
    /// give it to a job (<c>ExecutionOptions.Runtime</c>). The runtime stops watching the cluster when the host is
    /// disposed; the host, not the runtime, owns the silo.
    /// </summary>
    public static IHostApplicationBuilder AddSluiceDriver(this IHostApplicationBuilder builder, ClusterNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ClusterHost.AddNode(builder, options, "driver");
        builder.Services.AddSingleton(services => OrleansWorkerRuntime.Attach(services, options));
        return builder;
    }

    internal static void AddWorker(IHostApplicationBuilder builder, ClusterNodeOptions options, Action<string>? log, Func<System.Net.IPAddress, int>? freePort = null)
    {
        // Before the silo: liveness answers while the node joins (which may take a while), and stays up during the drain.
        if (options.Health is { } health) builder.Services.AddHostedService(services => new HealthEndpoint(services.GetRequiredService<ClusterNode>(), health));
        ClusterHost.AddNode(builder, options, "worker", freePort);
        builder.Services.Configure<HostOptions>(o =>
        {
            var needed = options.DrainTimeout + LeaveAllowance;
            if (o.ShutdownTimeout < needed) o.ShutdownTimeout = needed;
        });
        Action<string> Log(IServiceProvider services)
        {
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger("Sluice.Worker");
            return log ?? (line => { if (logger is not null) WorkerLog.Drain(logger, line); });
        }
        // After the silo: releases what drivers that died left here (their actors, their blocks) while the node serves.
        builder.Services.AddHostedService(services => new DriverWatch(services.GetRequiredService<ClusterNode>(), services.GetRequiredService<IGrainFactory>(),
            services.GetRequiredService<IClusterMembershipService>(), Log(services)));
        // After the silo: stopped before it, so the drain runs while the node is still a member.
        builder.Services.AddHostedService(services =>
        {
            var node = services.GetRequiredService<ClusterNode>();
            var handOff = new BlockHandOff(node, services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<IClusterMembershipService>(), Log(services));
            return new WorkerDrain(node, handOff, options.DrainTimeout, Log(services));
        });
    }
}

/// <summary>What a worker hosted in an application's host logs.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    public static partial void Drain(ILogger logger, string line);
}
