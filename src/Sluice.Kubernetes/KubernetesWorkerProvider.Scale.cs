using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sluice.Cluster.Autoscaling;

namespace Sluice.Kubernetes;

public sealed partial class KubernetesWorkerProvider
{
    /// <summary>What marks a pod to be deleted first when its ReplicaSet shrinks (best effort, Kubernetes 1.22+).</summary>
    internal const string DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";

    /// <summary>
    /// Below the default cost (0) of every unmarked pod, so a marked pod goes before them; the same value for all
    /// marked pods, as all of them are to go.
    /// </summary>
    internal const string DeletionCost = "-1000";

    /// <summary>
    /// Tries of one scale change when another writer changed the replicas between our read and our write (409). Each
    /// try re-reads and recomputes; a few are plenty, since the one other writer (a helm upgrade, a person) is rare.
    /// </summary>
    private const int ConflictAttempts = 5;

    /// <summary>
    /// Sets the group's replicas to <paramref name="target"/>(current), as a merge patch of the scale subresource that
    /// carries the resourceVersion read: the API server refuses it (409) if the replicas changed since, instead of
    /// overwriting a change made in between. <paramref name="first"/> is a scale just read, used for the first try.
    /// </summary>
    private async Task ScaleAsync(WorkerGroup group, V1Scale? first, Func<int, int> target, string reason, CancellationToken cancellationToken)
    {
        var deployment = DeploymentOf(group);
        for (var attempt = 1; ; attempt++)
        {
            var scale = first ?? await ReadScaleAsync(deployment, cancellationToken).ConfigureAwait(false);
            first = null;
            var current = scale.Spec?.Replicas ?? 0;
            var to = target(current);
            if (to == current)
            {
                Log.Unchanged(_logger, Namespace, deployment, current, reason);
                return;
            }
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = scale.Metadata?.ResourceVersion },
                ["spec"] = new JsonObject { ["replicas"] = to },
            };
            try
            {
                await _client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                    deployment, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                Log.Scaled(_logger, Namespace, deployment, current, to, reason);
                return;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict && attempt < ConflictAttempts)
            {
                Log.Conflict(_logger, Namespace, deployment, attempt);
            }
            catch (HttpOperationException e)
            {
                throw Failure(e, "patch", "apps", "deployments/scale", "Deployment", deployment);
            }
        }
    }

    private async Task<V1Scale> ReadScaleAsync(string deployment, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.AppsV1.ReadNamespacedDeploymentScaleAsync(deployment, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            throw Failure(e, "get", "apps", "deployments/scale", "Deployment", deployment);
        }
    }

    /// <summary>
    /// Marks the pod to go first when its ReplicaSet shrinks. A pod already gone (404) is not an error: it left on its
    /// own, and the scale-down that follows still counts it, as the autoscaler wants that many fewer workers.
    /// </summary>
    private async Task MarkForDeletionAsync(string pod, CancellationToken cancellationToken)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [DeletionCostAnnotation] = DeletionCost } },
        };
        try
        {
            await _client.CoreV1.PatchNamespacedPodAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                pod, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            Log.Marked(_logger, Namespace, pod, DeletionCost);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            Log.PodGone(_logger, Namespace, pod);
        }
        catch (HttpOperationException e)
        {
            throw Failure(e, "patch", "", "pods", "pod", pod);
        }
    }

    /// <summary>
    /// Warns when pods of the Deployment other than <paramref name="victims"/> are not ready (pending, starting,
    /// failing): the ReplicaSet deletes those before any marked pod, so the scale-down will not take exactly the
    /// victims. The pods are found by the scale subresource's selector (the Deployment's, as a string).
    /// </summary>
    private async Task WarnOfPodsRankedFirstAsync(string deployment, V1Scale scale, IReadOnlyList<string> victims, CancellationToken cancellationToken)
    {
        if (scale.Status?.Selector is not { Length: > 0 } selector) return;
        V1PodList pods;
        try
        {
            pods = await _client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            throw Failure(e, "list", "", "pods", "pods of Deployment", deployment);
        }
        var first = pods.Items
            .Where(p => p.Metadata?.DeletionTimestamp is null && !victims.Contains(p.Metadata?.Name ?? "", StringComparer.Ordinal) && !IsReady(p))
            .Select(p => p.Metadata?.Name ?? "?")
            .ToList();
        if (first.Count > 0) Log.RankedFirst(_logger, Namespace, deployment, first.Count, string.Join(", ", first));
    }

    private static bool IsReady(V1Pod pod) =>
        pod.Status?.Phase == "Running" && (pod.Status.Conditions ?? []).Any(c => c.Type == "Ready" && c.Status == "True");
}
