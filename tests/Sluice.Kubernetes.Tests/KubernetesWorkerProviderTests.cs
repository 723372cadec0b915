using System.Text.Json.Nodes;
using k8s;
using Sluice.Cluster.Autoscaling;
using Sluice.Kubernetes.Tests.Support;

namespace Sluice.Kubernetes.Tests;

/// <summary>
/// The real <see cref="KubernetesWorkerProvider"/> and the real KubernetesClient against <see cref="RecordingApiServer"/>,
/// a local HTTP endpoint that answers like the API server and records each request. No Kubernetes API server runs on
/// these machines: what is checked is the exact requests (method, path, content type, body, order), not what a
/// cluster then does with them.
/// </summary>
public sealed class KubernetesWorkerProviderTests : IDisposable
{
    private const string Ns = "batch";
    private const string Token = "test-sa-token-0b5e7c1d";
    private const string ScalePath = "/apis/apps/v1/namespaces/batch/deployments/sluice-worker-gpu/scale";
    private const string MergePatch = "application/merge-patch+json";

    private static readonly WorkerGroup Gpu = new() { Name = "gpu", Min = 1, Max = 4, Gpus = 1 };

    private readonly RecordingApiServer _server = new(Ns);

    public void Dispose() => _server.Dispose();

    private KubernetesWorkerProvider Provider(ListLogger? log = null) =>
        KubernetesWorkerProvider.FromConfiguration(
            new AutoscaleOptions { Provider = "kubernetes", Namespace = Ns, Groups = [Gpu] },
            new KubernetesClientConfiguration { Host = _server.Url, AccessToken = Token }, log);

    private static int Replicas(RecordingApiServer.Request r) => JsonNode.Parse(r.Body)!["spec"]!["replicas"]!.GetValue<int>();

    private static void AssertScalePatch(RecordingApiServer.Request r, int replicas, string resourceVersion)
    {
        Assert.Equal(("PATCH", ScalePath), (r.Method, r.Path));
        Assert.StartsWith(MergePatch, r.ContentType, StringComparison.Ordinal);
        var body = JsonNode.Parse(r.Body)!;
        Assert.Equal(replicas, body["spec"]!["replicas"]!.GetValue<int>());
        // The resourceVersion read makes the write conditional: a change made in between is not overwritten.
        Assert.Equal(resourceVersion, body["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task AddAsync_ScalesTheDeploymentThroughTheScaleSubresource_AgainstARecordingHttpEndpointNotARealApiServer()
    {
        _server.AddDeployment("sluice-worker-gpu", 1);
        await using (var provider = Provider())
        {
            Assert.Equal("kubernetes", provider.Name);
            await provider.AddAsync(Gpu, 2, CancellationToken.None);
        }
        var requests = _server.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Equal(("GET", ScalePath), (requests[0].Method, requests[0].Path));
        AssertScalePatch(requests[1], replicas: 3, resourceVersion: "1");
        Assert.All(requests, r => Assert.Equal($"Bearer {Token}", r.Authorization));
        Assert.Equal(3, _server.Replicas("sluice-worker-gpu"));
    }

    [Fact]
    public async Task AddAsync_CapsAtTheGroupsMax_AndAtMaxWritesNothing_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 3);
        await using var provider = Provider();
        await provider.AddAsync(Gpu, 5, CancellationToken.None);
        Assert.Equal(4, _server.Replicas("sluice-worker-gpu"));
        AssertScalePatch(_server.Requests[1], replicas: 4, resourceVersion: "1");
        await provider.AddAsync(Gpu, 1, CancellationToken.None);
        Assert.Equal(["GET", "PATCH", "GET"], _server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task AddAsync_UsesTheGroupsDeploymentName_WhenItGivesOne_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("prod-sluice-worker-gpu", 0);
        await using var provider = Provider();
        await provider.AddAsync(Gpu with { Deployment = "prod-sluice-worker-gpu" }, 1, CancellationToken.None);
        Assert.Equal(1, _server.Replicas("prod-sluice-worker-gpu"));
        Assert.All(_server.Requests, r => Assert.Equal("/apis/apps/v1/namespaces/batch/deployments/prod-sluice-worker-gpu/scale", r.Path));
    }

    [Fact]
    public async Task RemoveAsync_MarksExactlyTheDrainedPodsWithADeletionCostBeforeScalingDown_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 4);
        _server.AddPods("sluice-worker-gpu-7d9c-aaaaa", "sluice-worker-gpu-7d9c-bbbbb", "sluice-worker-gpu-7d9c-ccccc", "sluice-worker-gpu-7d9c-ddddd");
        await using (var provider = Provider())
            await provider.RemoveAsync(Gpu, ["sluice-worker-gpu-7d9c-bbbbb", "sluice-worker-gpu-7d9c-ddddd"], CancellationToken.None);

        var requests = _server.Requests;
        Assert.Equal(
            [("GET", ScalePath), ("GET", "/api/v1/namespaces/batch/pods"), ("PATCH", "/api/v1/namespaces/batch/pods/sluice-worker-gpu-7d9c-bbbbb"),
             ("PATCH", "/api/v1/namespaces/batch/pods/sluice-worker-gpu-7d9c-ddddd"), ("PATCH", ScalePath)],
            requests.Select(r => (r.Method, r.Path)));
        // The pods are listed by the scale subresource's selector (to warn of pods the ReplicaSet would take first).
        Assert.Contains("labelSelector=app=sluice-worker-gpu", requests[1].Query, StringComparison.Ordinal);
        foreach (var mark in requests.Skip(2).Take(2))
        {
            Assert.StartsWith(MergePatch, mark.ContentType, StringComparison.Ordinal);
            Assert.Equal("""{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"-1000"}}}""", mark.Body);
        }
        AssertScalePatch(requests[4], replicas: 2, resourceVersion: "1");
        Assert.Equal("-1000", _server.Annotations("sluice-worker-gpu-7d9c-bbbbb")["controller.kubernetes.io/pod-deletion-cost"]);
        Assert.Empty(_server.Annotations("sluice-worker-gpu-7d9c-aaaaa"));
        Assert.Empty(_server.Annotations("sluice-worker-gpu-7d9c-ccccc"));
    }

    [Fact]
    public async Task RemoveAsync_NeverGoesBelowTheGroupsMin_AndMarksOnlyThePodsThatWillGo_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 3);
        _server.AddPods("p1", "p2", "p3");
        await using var provider = Provider();
        await provider.RemoveAsync(Gpu with { Min = 2 }, ["p1", "p2", "p3"], CancellationToken.None);
        Assert.Equal(2, _server.Replicas("sluice-worker-gpu"));
        Assert.Equal(["GET scale", "GET pods", "PATCH p1", "PATCH scale"],
            _server.Requests.Select(r => $"{r.Method} {r.Path.Split('/')[^1]}"));
        Assert.Empty(_server.Annotations("p2"));

        // At min already: nothing is marked and nothing written.
        await provider.RemoveAsync(Gpu with { Min = 2 }, ["p2"], CancellationToken.None);
        Assert.Equal(["GET", "GET", "PATCH", "PATCH", "GET"], _server.Requests.Select(r => r.Method));
        Assert.Equal(2, _server.Replicas("sluice-worker-gpu"));
    }

    [Fact]
    public async Task RemoveAsync_APodAlreadyGoneIsNotAnError_AndStillCounts_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 3);
        _server.AddPods("p1");
        await using var provider = Provider();
        await provider.RemoveAsync(Gpu, ["gone", "p1"], CancellationToken.None);
        Assert.Equal(1, _server.Replicas("sluice-worker-gpu"));
        Assert.Equal("-1000", _server.Annotations("p1")["controller.kubernetes.io/pod-deletion-cost"]);
    }

    [Fact]
    public async Task RemoveAsync_APodNamedTwiceGoesOnce_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 3);
        _server.AddPods("p1", "p2", "p3");
        await using var provider = Provider();
        await provider.RemoveAsync(Gpu, ["p1", "p1"], CancellationToken.None);
        Assert.Equal(2, _server.Replicas("sluice-worker-gpu"));
        Assert.Single(_server.Requests, r => r.Path.EndsWith("/pods/p1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RemoveAsync_WarnsThatPendingPodsGoBeforeTheMarkedOnes_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 3);
        _server.AddPods("idle", "busy");
        _server.AddPendingPod("starting");
        var log = new ListLogger();
        await using var provider = Provider(log);
        await provider.RemoveAsync(Gpu, ["idle"], CancellationToken.None);
        Assert.Equal(2, _server.Replicas("sluice-worker-gpu"));
        var warning = Assert.Single(log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains("1 pod(s) of deployment batch/sluice-worker-gpu are not ready (starting)", warning, StringComparison.Ordinal);
        Assert.Contains(log.Lines, l => l.Contains("scaled from 3 to 2", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddAsync_ReReadsAndRetries_WhenTheReplicasChangedBetweenReadAndWrite_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 1);
        _server.ChangeBeforeNextPatch = 2;   // someone else scaled to 2 after our read: our patch (version 1) is stale
        await using var provider = Provider();
        await provider.AddAsync(Gpu, 1, CancellationToken.None);
        var requests = _server.Requests;
        Assert.Equal(["GET", "PATCH", "GET", "PATCH"], requests.Select(r => r.Method));
        AssertScalePatch(requests[1], replicas: 2, resourceVersion: "1");
        AssertScalePatch(requests[3], replicas: 3, resourceVersion: "2");   // 2 (theirs) + 1 (ours), not 1 + 1
        Assert.Equal(3, _server.Replicas("sluice-worker-gpu"));
    }

    [Fact]
    public async Task AddAsync_Forbidden_NamesTheMissingVerbAndResourceAndTheChartsServiceAccount_WithoutTheToken_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 1);
        _server.Forbid = r => r.Method == "PATCH";
        await using var provider = Provider();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.AddAsync(Gpu, 1, CancellationToken.None));
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("verb 'patch' on resource 'deployments/scale' (apiGroup \"apps\")", e.Message, StringComparison.Ordinal);
        Assert.Contains("sluice-worker-gpu", e.Message, StringComparison.Ordinal);
        Assert.Contains("autoscaler ServiceAccount grants it (autoscaler.rbac.create: true)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveAsync_ForbiddenToPatchPods_NamesPodsPatch_AndScalesNothing_AgainstARecordingHttpEndpoint()
    {
        _server.AddDeployment("sluice-worker-gpu", 3);
        _server.AddPods("p1");
        _server.Forbid = r => r.Path.Contains("/pods/", StringComparison.Ordinal);
        await using var provider = Provider();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.RemoveAsync(Gpu, ["p1"], CancellationToken.None));
        Assert.Contains("verb 'patch' on resource 'pods' (apiGroup \"\")", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, e.ToString(), StringComparison.Ordinal);
        // Unmarked, the pod would not be the one to go: no scale-down without the mark.
        Assert.Equal(3, _server.Replicas("sluice-worker-gpu"));
        Assert.DoesNotContain(_server.Requests, r => r.Method == "PATCH" && r.Path == ScalePath);
    }

    [Fact]
    public async Task AddAsync_UnknownDeployment_NamesTheDeploymentAndTheNamespace_AgainstARecordingHttpEndpoint()
    {
        await using var provider = Provider();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.AddAsync(Gpu, 1, CancellationToken.None));
        Assert.Contains("the Deployment 'sluice-worker-gpu' was not found in namespace 'batch' (404 Not Found)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromConfiguration_TakesTheOptionsNamespace_ElseTheConfigurations()
    {
        await using (var provider = Provider())
            Assert.Equal("batch", provider.Namespace);
        await using var fromConfig = KubernetesWorkerProvider.FromConfiguration(
            new AutoscaleOptions { Provider = "kubernetes", Groups = [Gpu] },
            new KubernetesClientConfiguration { Host = _server.Url, AccessToken = Token, Namespace = "from-kubeconfig" });
        Assert.Equal("from-kubeconfig", fromConfig.Namespace);
    }

    [Fact]
    public void Create_OutsideAPod_SaysTheProviderNeedsTheInClusterServiceAccount()
    {
        if (Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is { Length: > 0 }) return;   // in a pod the in-cluster config exists
        var e = Assert.Throws<InvalidOperationException>(() => KubernetesWorkerProvider.Create(new AutoscaleOptions { Provider = "kubernetes", Groups = [Gpu] }));
        Assert.Contains("runs in a pod", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeploymentOf_DefaultsToSluiceWorkerGroup() =>
        Assert.Equal(("sluice-worker-gpu", "mine"), (KubernetesWorkerProvider.DeploymentOf(Gpu), KubernetesWorkerProvider.DeploymentOf(Gpu with { Deployment = "mine" })));
}
