using k8s;
using k8s.Exceptions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Cluster.Autoscaling;

namespace Sluice.Kubernetes;

/// <summary>
/// The autoscaler's <c>kubernetes</c> provider: a worker group is a Deployment of <c>sluice worker</c> pods (the Helm
/// chart's), and a worker's node id is its pod's name. Adding raises the Deployment's replicas through its scale
/// subresource; removing first marks the chosen pods with <c>controller.kubernetes.io/pod-deletion-cost</c> so that the
/// ReplicaSet deletes exactly those, then lowers the replicas. The kubelet's SIGTERM makes each removed worker drain
/// before it leaves (the chart's preStop pause and grace period leave it the time).
/// </summary>
/// <remarks>
/// Only the scale subresource is written, never the Deployment itself, so the role it needs stays small (the chart's
/// autoscaler Role) and a <c>helm upgrade</c> that re-applies the Deployment is the one other writer of its replicas.
/// Calls are made one at a time: the autoscaler's decisions are read-modify-write on a replica count.
/// <para>
/// The deletion cost is best effort: a ReplicaSet that shrinks deletes unscheduled, pending and not-ready pods
/// before it looks at the cost. A pod still starting (or one whose launch the autoscaler gave up on) therefore goes
/// before a marked idle worker, which stays, marked, until the next scale-down. Removal warns when such pods exist.
/// </para>
/// </remarks>
public sealed partial class KubernetesWorkerProvider : IWorkerProvider
{
    /// <summary>Where a pod finds its own namespace (mounted with the ServiceAccount token).</summary>
    internal const string NamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    private readonly IKubernetes _client;
    private readonly bool _ownsClient;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>A provider over a client the caller made and keeps (it is not disposed here), for the Deployments in <paramref name="namespace"/>.</summary>
    public KubernetesWorkerProvider(IKubernetes client, string @namespace, ILogger? logger = null)
        : this(client, @namespace, ownsClient: false, logger)
    {
    }

    private KubernetesWorkerProvider(IKubernetes client, string @namespace, bool ownsClient, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        _client = client;
        _ownsClient = ownsClient;
        _logger = logger ?? NullLogger.Instance;
        Namespace = @namespace;
    }

    public string Name => "kubernetes";

    /// <summary>The namespace of the groups' Deployments and their pods.</summary>
    public string Namespace { get; }

    /// <summary>
    /// The provider for a driver running in a pod: the in-cluster configuration (the pod's ServiceAccount token and
    /// <c>KUBERNETES_SERVICE_HOST</c>), the Deployments in <see cref="AutoscaleOptions.Namespace"/> or else the pod's own namespace.
    /// </summary>
    public static KubernetesWorkerProvider Create(AutoscaleOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        KubernetesClientConfiguration configuration;
        try
        {
            configuration = KubernetesClientConfiguration.InClusterConfig();
        }
        catch (KubeConfigException e)
        {
            throw new InvalidOperationException(
                "the kubernetes autoscale provider runs in a pod: it uses the pod's ServiceAccount (in-cluster configuration), " +
                $"and none was found ({e.Message}); run the driver as the sluice chart's driver Job (driver.enabled: true), or use provider: local", e);
        }
        return FromConfiguration(options, configuration, logger);
    }

    /// <summary>
    /// The provider over a given configuration (a kubeconfig, or a base URL and token, e.g. in tests). The namespace is
    /// <see cref="AutoscaleOptions.Namespace"/>, else the configuration's, else the pod's own.
    /// </summary>
    public static KubernetesWorkerProvider FromConfiguration(AutoscaleOptions options, KubernetesClientConfiguration configuration, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        var @namespace = options.Namespace ?? configuration.Namespace ?? OwnNamespace()
            ?? throw new InvalidOperationException(
                $"the kubernetes autoscale provider needs a namespace: give namespace: in the autoscale file (this process is not in a pod: {NamespaceFile} is missing)");
        return new KubernetesWorkerProvider(new k8s.Kubernetes(configuration), @namespace, ownsClient: true, logger);
    }

    /// <summary>The Deployment of <paramref name="group"/>'s workers: the one it names, else <c>sluice-worker-{name}</c> (the chart's name for release <c>sluice</c>).</summary>
    public static string DeploymentOf(WorkerGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.Deployment ?? $"sluice-worker-{group.Name}";
    }

    public async Task AddAsync(WorkerGroup group, int count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Never lowers: a Deployment already above max (raised by hand) is left as it is.
            await ScaleAsync(group, first: null, current => Math.Max(current, Math.Min(current + count, group.Max)),
                $"{count} more asked, max {group.Max}", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RemoveAsync(WorkerGroup group, IReadOnlyList<string> nodeIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(nodeIds);
        if (nodeIds.Count == 0) return;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var deployment = DeploymentOf(group);
            var scale = await ReadScaleAsync(deployment, cancellationToken).ConfigureAwait(false);
            var current = scale.Spec?.Replicas ?? 0;
            // Only the pods that will go are marked: a marked pod left running (min reached) would be the first to go
            // at some later, unrelated scale-down.
            var distinct = nodeIds.Distinct(StringComparer.Ordinal).ToList();   // a pod named twice goes once
            var removing = Math.Clamp(current - group.Min, 0, distinct.Count);
            var victims = distinct.Take(removing).ToList();
            if (victims.Count > 0)
                await WarnOfPodsRankedFirstAsync(deployment, scale, victims, cancellationToken).ConfigureAwait(false);
            foreach (var pod in victims)
                await MarkForDeletionAsync(pod, cancellationToken).ConfigureAwait(false);
            await ScaleAsync(group, scale, c => Math.Min(c, Math.Max(c - removing, group.Min)),
                $"{distinct.Count} to remove asked, min {group.Min}", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_ownsClient) _client.Dispose();
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string? OwnNamespace()
    {
        try
        {
            return File.Exists(NamespaceFile) ? File.ReadAllText(NamespaceFile).Trim() is { Length: > 0 } ns ? ns : null : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
