using System.Runtime.ExceptionServices;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Connections.Security;
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
    /// Starts the node's host. A Redis that cannot be reached, or that refuses the password, is one clear line naming
    /// the masked address (<see cref="RedisAddress"/>), not a stack trace; no message that leaves here carries the password.
    /// The host is disposed when it does not start.
    /// </summary>
    public static async Task StartAsync(IHost host, ClusterNodeOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var redis = host.Services.GetRequiredService<RedisAddress>();
            host.Dispose();
            var failure = StartFailure(e, redis);
            if (ReferenceEquals(failure, e)) ExceptionDispatchInfo.Capture(e).Throw();
            throw failure;
        }
    }

    /// <summary>
    /// What a failed start tells the operator. Redis' own messages may echo the configuration, so none is passed on
    /// as is: a known failure becomes one line, and any other message is scrubbed of the password (its inner
    /// exceptions are dropped when they carry it).
    /// </summary>
    internal static Exception StartFailure(Exception e, RedisAddress redis)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case SluiceException sluice:
                    return sluice;
                // StackExchange.Redis reports a refused server certificate as an authentication failure too.
                case RedisConnectionException when redis.Tls && IsTlsFailure(inner):
                    return TlsFailure(redis);
                case RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }:
                    return AuthFailure(redis);
                case RedisServerException when IsAuthFailure(inner.Message):
                    return AuthFailure(redis);
                case RedisConnectionException or RedisTimeoutException when redis.Tls:
                    return TlsFailure(redis);
                case RedisConnectionException or RedisTimeoutException:
                    return new SluiceException($"cannot reach Redis at {redis}: is redis-server running there? Start it, or give the right address with --cluster redis://HOST:PORT");
            }
        }
        if (redis.Password is null || !e.ToString().Contains(redis.Password, StringComparison.Ordinal)) return e;
        return new SluiceException(redis.Scrub($"the node did not start: {e.GetType().Name}: {e.Message}"));
    }

    private static SluiceException TlsFailure(RedisAddress redis) => new(
        $"cannot reach Redis at {redis} over TLS: is redis-server running there with TLS on that port, and does its certificate " +
        $"name {redis.Host} and chain to {(redis.CaFile is { } ca ? $"the CA in {ca} (--redis-ca)" : "the system's roots (give its CA with --redis-ca FILE)")}?");

    /// <summary>Whether a connection failure came from the TLS handshake (a certificate refused), not from the password.</summary>
    private static bool IsTlsFailure(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is System.Security.Authentication.AuthenticationException) return true;
            if (x.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase) || x.Message.Contains("SSL", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static SluiceException AuthFailure(RedisAddress redis) => new(redis.Password is null
        ? $"Redis at {redis} wants a password (NOAUTH): {RedisAddress.HowToGivePassword}"
        : $"Redis at {redis} refused the password (WRONGPASS): {RedisAddress.HowToGivePassword}, the one its requirepass or ACL sets");

    /// <summary>A reply from a server that wants a password (NOAUTH) or refused the one given (WRONGPASS; older servers: "invalid password").</summary>
    private static bool IsAuthFailure(string message) =>
        message.Contains("NOAUTH", StringComparison.Ordinal) || message.Contains("WRONGPASS", StringComparison.Ordinal)
        || message.Contains("invalid password", StringComparison.OrdinalIgnoreCase);

    /// <summary>A host holding one node and nothing else (the CLI's worker and driver, tests); the node itself is <see cref="AddNode"/>.</summary>
    public static IHost Build(ClusterNodeOptions options, string role, ILoggerFactory? logging = null, Action<string>? log = null, Func<IPAddress, int>? freePort = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        if (logging is not null) builder.Services.AddSingleton(logging);
        if (role == "worker") SluiceHosting.AddWorker(builder, options, log, freePort);
        else AddNode(builder, options, role, freePort);
        // The caller owns the signals and the stop (it bounds the stop when Redis is gone): no console lifetime.
        builder.Services.AddSingleton<IHostLifetime, CallerLifetime>();
        if (role == "worker")
        {
            // A silo told it is dead does not end the worker: its supervisor rebuilds it (SiloFatalSignal).
            builder.Services.AddSingleton<SiloFatalSignal>();
            builder.Services.Replace(ServiceDescriptor.Singleton<IFatalErrorHandler>(services => services.GetRequiredService<SiloFatalSignal>()));
        }
        return builder.Build();
    }

    /// <summary>How many times a node whose port was picked for it tries another when that port was taken meanwhile.</summary>
    private const int PortAttempts = 5;

    /// <summary>
    /// Builds and starts a node's host. A port the operator left to the node (no <c>--listen</c>, or port 0) is found
    /// free just before the silo binds it; another process can take it in between, so that one failure is retried with
    /// a fresh port (up to <see cref="PortAttempts"/> times) instead of failing the node. A port the operator gave is never changed.
    /// </summary>
    public static async Task<IHost> StartNewAsync(ClusterNodeOptions options, string role, Action<string>? log, CancellationToken cancellationToken,
        Func<IPAddress, int>? freePort = null)
    {
        var picked = options.Listen is null || (NodeAddress.TryParse(options.Listen, out var listen, out _) && listen.Port is null or 0);
        for (var attempt = 1; ; attempt++)
        {
            var host = Build(options, role, log: log, freePort: freePort);
            try
            {
                await StartAsync(host, options, cancellationToken).ConfigureAwait(false);
                return host;
            }
            catch (Exception e) when (picked && attempt < PortAttempts && PortTaken(e))
            {
                log?.Invoke($"{role}: the free port found for the silo was taken before it could bind; trying another (attempt {attempt + 1} of {PortAttempts})");
            }
        }
    }

    /// <summary>Whether <paramref name="e"/> (or anything it wraps) is a bind refused because the address is in use.</summary>
    internal static bool PortTaken(Exception e) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => true,
        AggregateException a => a.InnerExceptions.Any(PortTaken),
        { InnerException: { } inner } => PortTaken(inner),
        _ => false,
    };

    /// <summary>
    /// Adds one node's silo to <paramref name="builder"/>: refused at once, every problem listed, when the options are
    /// invalid (<see cref="ClusterNodeOptionsValidator"/>), and when a file they name (TLS, Redis password) cannot be read.
    /// </summary>
    internal static ClusterNode AddNode(IHostApplicationBuilder builder, ClusterNodeOptions options, string role, Func<IPAddress, int>? freePort = null)
    {
        ClusterNodeOptionsValidator.ThrowIfInvalid(options);
        builder.Services.AddSingleton<IValidateOptions<ClusterNodeOptions>, ClusterNodeOptionsValidator>();
        builder.Services.AddSingleton(Options.Create(options));
        var redis = RedisAddress.Resolve(options.Redis, options.RedisPasswordFile, caFile: options.RedisCaFile);
        var endpoints = NodeEndpoints.Resolve(options, Environment.GetEnvironmentVariable("POD_IP"), freePort ?? FreePort);
        var nodeId = options.NodeId ?? NewNodeId(role);
        // A driver is one job: a random run id names it in block reads (workers serve only the job that made a block).
        var job = role == "driver" ? Guid.NewGuid().ToString("N") : null;
        var node = new ClusterNode(nodeId, options.Resources, options.ChunkBytes, options.Processors, job, options.CacheDirectory);
        // Loaded before the host is built: a wrong file is one clear line, not a failure deep in the silo's start.
        var tls = options.Tls?.Load();
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(redis);
        // Before this silo joins: a live member with the same id refuses it (and is not disturbed).
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, UniqueNodeId>();
        builder.Services.AddPlacementDirector<NodePlacementStrategy, NodePlacementDirector>();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ClusterId;
            });
            silo.Configure<SiloOptions>(o => o.SiloName = nodeId);
            // Listen where the operator said (default loopback, several nodes on one machine as in tests and the README's
            // recipe), and advertise what other nodes can call (default POD_IP in a pod). No gateway: clients are silos.
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = endpoints.Advertise.Address;
                o.SiloPort = endpoints.Advertise.Port;
                o.SiloListeningEndpoint = endpoints.Listen;
                o.GatewayPort = 0;
            });
            // Both providers get the same options, password included (the URL's, the file's or SLUICE_REDIS_PASSWORD's).
            silo.UseRedisClustering(o => o.ConfigurationOptions = redis.ToConfiguration());
            silo.UseRedisGrainDirectoryAsDefault(o => o.ConfigurationOptions = redis.ToConfiguration());
            silo.UseSiloMetadata(NodeMetadata.Of(nodeId, options.Resources, options.Group));
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
            if (tls is var (ca, certificate))
            {
                // Mutual TLS: both sides present their node certificate, and a peer is accepted only when its certificate
                // chains to the cluster CA, the only trust anchor (the platform's verdict, which knows no such CA, is ignored).
                silo.UseTls(certificate, o =>
                {
                    o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
                    o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
                    o.RemoteCertificateValidation = (remote, _, _) => ClusterCertificates.ChainsTo(ca, remote);
                });
            }
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
        // The node knows when it has joined (readiness), from the silo's own lifecycle.
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, NodeJoined>();
        return node;
    }

    /// <summary>The id of a node given none: <c>{role}-{host}-{pid}-{random}</c>, unique per process and per call.</summary>
    internal static string NewNodeId(string role) => $"{role}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>A port free on <paramref name="host"/> now, for a node given no port (the OS picks; a race with other processes remains).</summary>
    private static int FreePort(IPAddress host)
    {
        using var listener = new TcpListener(host, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
