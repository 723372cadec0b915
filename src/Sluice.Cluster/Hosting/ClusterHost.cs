using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Sluice.Cluster.Placement;
using StackExchange.Redis;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// Builds the silo of one node, worker or driver alike: Redis membership and grain directory
/// (the default directory deactivates healthy actors elsewhere when a node dies, orleans.md §5),
/// the node's resources as silo metadata, node placement, timeouts and a message limit for ML.
/// </summary>
internal static class ClusterHost
{
    /// <summary>
    /// Starts the node's host; a Redis that cannot be reached is one clear line (the address, never a password),
    /// not a stack trace. The host is disposed when it does not start.
    /// </summary>
    public static async Task StartAsync(IHost host, ClusterNodeOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException)
        {
            host.Dispose();
            throw new SluiceException($"cannot reach Redis at {RedisAddress.Parse(options.Redis)}: is redis-server running there? Start it, or give the right address with --cluster redis://HOST:PORT", e);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public static IHost Build(ClusterNodeOptions options, string role, ILoggerFactory? logging = null)
    {
        var errors = options.Validate().ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join(Environment.NewLine, errors));
        var redis = RedisAddress.Parse(options.Redis);
        var nodeId = options.NodeId ?? $"{role}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        var node = new ClusterNode(nodeId, options.Resources, options.ChunkBytes, options.Processors);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        if (logging is not null) builder.Services.AddSingleton(logging);
        builder.Services.AddSingleton(node);
        builder.Services.AddPlacementDirector<NodePlacementStrategy, NodePlacementDirector>();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ClusterId;
            });
            silo.Configure<SiloOptions>(o => o.SiloName = nodeId);
            // Loopback and a free port: several nodes share one machine in tests and in the README's recipe.
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort(), gatewayPort: 0, listenOnAnyHostAddress: false);
            silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            silo.UseRedisGrainDirectoryAsDefault(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            silo.UseSiloMetadata(NodeMetadata.Of(nodeId, options.Resources));
            silo.Configure<SiloMessagingOptions>(o =>
            {
                o.ResponseTimeout = options.ResponseTimeout;
                o.SystemResponseTimeout = options.ResponseTimeout;
                o.MaxMessageBodySize = options.MaxMessageBodyBytes;
            });
            silo.Configure<GrainCollectionOptions>(o =>
            {
                // A model load happens in InitializeAsync, but activation must not be the thing that times out either.
                o.ActivationTimeout = options.ResponseTimeout;
                o.CollectionAge = TimeSpan.FromDays(1);
            });
            if (options.FastFailureDetection)
            {
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(1);
                    o.NumMissedProbesLimit = 2;
                    o.NumVotesForDeathDeclaration = 1;
                    o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                    o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
                });
            }
        });
        return builder.Build();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
