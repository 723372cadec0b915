using k8s;
using k8s.Models;

namespace Sluice.Deploy.Tests;

/// <summary>
/// The Helm chart deploy/helm/sluice, checked offline (no Kubernetes API server runs here): helm lint --strict and
/// helm template for the default, GPU, external-Redis, driver and TLS values; every rendered object parsed strictly by
/// KubernetesClient (unknown fields refused) and validated against the Kubernetes JSON schemas (kubernetes-models:
/// types and required fields); then what we rely on in a cluster.
/// </summary>
public partial class HelmChartTests
{
    public static TheoryData<string> ValuesFiles => new() { "default", "gpu", "external-redis", "driver", "tls" };

    /// <summary>apiVersion/kind of every kind the chart renders; any other kind fails the strict parse.</summary>
    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["v1/Secret"] = typeof(V1Secret),
        ["v1/Service"] = typeof(V1Service),
        ["v1/ServiceAccount"] = typeof(V1ServiceAccount),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["batch/v1/Job"] = typeof(V1Job),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["rbac.authorization.k8s.io/v1/Role"] = typeof(V1Role),
        ["rbac.authorization.k8s.io/v1/RoleBinding"] = typeof(V1RoleBinding),
    };

    private static List<object> Objects(string values) => KubernetesYaml.LoadAllFromString(ChartTools.Render(values), Kinds, strict: true);

    private static List<V1Deployment> Workers(List<object> objects) =>
        objects.OfType<V1Deployment>().Where(d => d.Metadata.Labels["app.kubernetes.io/component"] == "worker").ToList();

    private static string Arg(V1Container c, string name)
    {
        var i = c.Args.IndexOf(name);
        Assert.True(i >= 0 && i + 1 < c.Args.Count, $"container {c.Name} has no {name} argument: {string.Join(' ', c.Args)}");
        return c.Args[i + 1];
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Lint_strict_passes(string values)
    {
        var (code, output) = ChartTools.RunHelm(["lint", "--strict", ChartTools.Chart, .. ChartTools.ValuesArgs(values)]);
        Assert.True(code == 0, $"helm lint --strict with {values} values:\n{output}");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Rendered_objects_parse_strictly_and_match_the_kubernetes_schemas(string values)
    {
        var objects = Objects(values);
        Assert.NotEmpty(objects);
        var file = Path.Combine(Path.GetTempPath(), $"sluice-chart-{values}-{Environment.ProcessId}.yaml");
        File.WriteAllText(file, ChartTools.Render(values));
        try
        {
            var (code, output) = ChartTools.RunNode([ChartTools.Validator, ChartTools.NodeModules, file]);
            Assert.True(code == 0, $"Kubernetes schema validation of the {values} rendering:\n{output}");
            Assert.Contains($"{objects.Count} object(s), 0 invalid", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Workers_run_as_non_root_without_an_api_token(string values)
    {
        foreach (var d in Workers(Objects(values)))
        {
            var pod = d.Spec.Template.Spec;
            Assert.True(pod.SecurityContext?.RunAsNonRoot == true, $"{d.Metadata.Name}: pod runAsNonRoot");
            Assert.True(pod.SecurityContext?.RunAsUser is > 0, $"{d.Metadata.Name}: pod runAsUser");
            Assert.False(pod.AutomountServiceAccountToken ?? true, $"{d.Metadata.Name}: workers mount no API token");
            foreach (var c in pod.Containers)
            {
                Assert.True(c.SecurityContext?.RunAsNonRoot == true, $"{d.Metadata.Name}/{c.Name}: runAsNonRoot");
                Assert.True(c.SecurityContext?.AllowPrivilegeEscalation == false, $"{d.Metadata.Name}/{c.Name}: allowPrivilegeEscalation");
                Assert.True(c.SecurityContext?.ReadOnlyRootFilesystem == true, $"{d.Metadata.Name}/{c.Name}: readOnlyRootFilesystem");
                Assert.DoesNotContain(":latest", c.Image, StringComparison.Ordinal);
                Assert.Matches(@"[:@]", c.Image);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Each_worker_group_has_a_pod_disruption_budget_selecting_its_pods(string values)
    {
        var objects = Objects(values);
        var pdbs = objects.OfType<V1PodDisruptionBudget>().ToList();
        var workers = Workers(objects);
        Assert.NotEmpty(workers);
        foreach (var d in workers)
        {
            var pdb = Assert.Single(pdbs, p => p.Spec.Selector.MatchLabels.All(kv => d.Spec.Template.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value)
                && p.Spec.Selector.MatchLabels.ContainsKey("sluice.dev/worker-group"));
            Assert.True(pdb.Spec.MaxUnavailable is not null || pdb.Spec.MinAvailable is not null, $"{pdb.Metadata.Name} bounds nothing");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Grace_period_outlasts_the_prestop_pause_and_the_drain(string values)
    {
        foreach (var d in Workers(Objects(values)))
        {
            var pod = d.Spec.Template.Spec;
            var worker = Assert.Single(pod.Containers);
            var drain = double.Parse(Arg(worker, "--drain-timeout"), System.Globalization.CultureInfo.InvariantCulture);
            var pause = worker.Lifecycle?.PreStop?.Exec?.Command is ["sleep", var s] ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0;
            Assert.True(pod.TerminationGracePeriodSeconds > drain + pause,
                $"{d.Metadata.Name}: terminationGracePeriodSeconds {pod.TerminationGracePeriodSeconds} must exceed preStop {pause} s + drain {drain} s");
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Redis_password_comes_from_a_secret_never_a_literal(string values)
    {
        var objects = Objects(values);
        var redisUrl = string.Empty;
        foreach (var d in objects.OfType<V1Deployment>())
        {
            foreach (var c in d.Spec.Template.Spec.Containers)
            {
                var passwordVars = (c.Env ?? []).Where(e => e.Name is "SLUICE_REDIS_PASSWORD" or "REDIS_PASSWORD").ToList();
                Assert.NotEmpty(passwordVars);
                foreach (var e in passwordVars)
                {
                    Assert.Null(e.Value);
                    Assert.NotNull(e.ValueFrom?.SecretKeyRef);
                }
                if (c.Name == "worker")
                {
                    redisUrl = Arg(c, "--cluster");
                    Assert.Matches(@"^redis://[^@/]+:\d+$", redisUrl);   // no credentials in the URL
                }
            }
        }
        Assert.NotEmpty(redisUrl);
        var redisDeployments = objects.OfType<V1Deployment>().Count(d => d.Metadata.Labels["app.kubernetes.io/component"] == "redis");
        if (values == "external-redis")
        {
            Assert.Equal(0, redisDeployments);
            Assert.Empty(objects.OfType<V1Secret>());   // the user's Secret is referenced, not made
            var worker = Workers(objects)[0].Spec.Template.Spec.Containers[0];
            var secretRef = worker.Env.Single(e => e.Name == "SLUICE_REDIS_PASSWORD").ValueFrom.SecretKeyRef;
            Assert.Equal(("sluice-redis", "redis-password"), (secretRef.Name, secretRef.Key));
        }
        else
        {
            Assert.Equal(1, redisDeployments);
            var secret = Assert.Single(objects.OfType<V1Secret>());
            Assert.Equal(32, secret.Data["password"].Length);
            var redis = objects.OfType<V1Service>().Single();
            Assert.Equal($"redis://{redis.Metadata.Name}:{redis.Spec.Ports[0].Port}", redisUrl);
            var redisContainer = objects.OfType<V1Deployment>().Single(d => d.Metadata.Labels["app.kubernetes.io/component"] == "redis").Spec.Template.Spec.Containers[0];
            Assert.Matches(@"^docker\.io/library/redis:7\.\d+\.\d+$", redisContainer.Image);
            Assert.True(redisContainer.SecurityContext?.RunAsNonRoot == true);
        }
    }

    [Fact]
    public void Gpu_group_requests_nvidia_gpus_on_gpu_nodes_and_offers_them_to_the_worker()
    {
        var objects = Objects("gpu");
        var gpu = Workers(objects).Single(d => d.Metadata.Labels["sluice.dev/worker-group"] == "gpu");
        var pod = gpu.Spec.Template.Spec;
        var worker = pod.Containers[0];
        Assert.Equal("1", worker.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("1", Arg(worker, "--gpus"));
        Assert.Equal("true", pod.NodeSelector["nvidia.com/gpu.present"]);
        Assert.Contains(pod.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");
        Assert.Equal(("0", "8"), (gpu.Metadata.Annotations["sluice.dev/min-replicas"], gpu.Metadata.Annotations["sluice.dev/max-replicas"]));
        Assert.Equal(2, gpu.Spec.Replicas);
        // Mutual TLS from the example's Secret (Tls_secret_gives_every_silo_the_ca_and_the_node_certificate checks the rest).
        Assert.Contains(pod.Volumes, v => v.Name == "tls" && v.Secret.SecretName == "sluice-cluster-tls");
        Assert.Equal("/etc/sluice/tls/node.pfx", Arg(worker, "--tls-cert"));
        // A cache sized for model files, and the ephemeral storage to hold it.
        Assert.Equal("50Gi", CacheVolume(pod, worker).EmptyDir.SizeLimit.ToString());
        Assert.Equal("50Gi", worker.Resources.Requests["ephemeral-storage"].ToString());
        // The CPU group asks for no GPU.
        var cpu = Workers(objects).Single(d => d.Metadata.Labels["sluice.dev/worker-group"] == "cpu").Spec.Template.Spec.Containers[0];
        Assert.False(cpu.Resources.Limits?.ContainsKey("nvidia.com/gpu") ?? false);
        Assert.DoesNotContain("--gpus", cpu.Args);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Autoscaler_role_grants_only_scale_and_pod_access_in_the_namespace(string values)
    {
        var objects = Objects(values);
        var role = Assert.Single(objects.OfType<V1Role>());
        var rules = role.Rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}")))).Order().ToList();
        Assert.Equal(["/pods:get", "/pods:list", "/pods:patch", "apps/deployments/scale:get", "apps/deployments/scale:patch", "apps/deployments/scale:update", "apps/deployments:get"], rules);
        // The Deployment rules name the chart's worker Deployments and nothing else; pods cannot be named ahead.
        var workers = Workers(objects).Select(d => d.Metadata.Name).Order().ToList();
        foreach (var rule in role.Rules.Where(r => r.ApiGroups.Contains("apps")))
            Assert.Equal(workers, rule.ResourceNames.Order());
        var binding = Assert.Single(objects.OfType<V1RoleBinding>());
        var account = Assert.Single(objects.OfType<V1ServiceAccount>());
        Assert.Equal(("Role", role.Metadata.Name), (binding.RoleRef.Kind, binding.RoleRef.Name));
        Assert.Equal((account.Metadata.Name, "batch"), (binding.Subjects.Single().Name, binding.Subjects.Single().NamespaceProperty));
        // Nothing cluster-wide (a ClusterRole would also fail the strict parse: its kind is not in Kinds).
        Assert.DoesNotContain("kind: ClusterRole", ChartTools.Render(values), StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_replicas_fail_schema_validation()
    {
        var file = Path.Combine(Path.GetTempPath(), $"sluice-chart-negative-{Environment.ProcessId}.yaml");
        File.WriteAllText(file, """
            workerGroups:
              - name: cpu
                replicas: -1
                minReplicas: 0
                maxReplicas: 2
                resources: {}
            """);
        try
        {
            var (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "-f", file]);
            Assert.NotEqual(0, code);
            Assert.Contains("values don't meet the specifications of the schema", output, StringComparison.Ordinal);
            Assert.Contains("/workerGroups/0/replicas", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void External_redis_needs_a_password_secret_and_no_password_in_the_url()
    {
        var (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "redis.enabled=false", "--set", "redis.external.url=redis://r:6379"]);
        Assert.NotEqual(0, code);
        Assert.Contains("/redis/auth/existingSecret", output, StringComparison.Ordinal);
        (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "redis.enabled=false", "--set", "redis.external.url=redis://:pw@r:6379", "--set", "redis.auth.existingSecret=s"]);
        Assert.NotEqual(0, code);
        Assert.Contains("/redis/external/url", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Chart_refuses_a_grace_period_shorter_than_the_drain_and_gpus_without_a_gpu_limit()
    {
        var (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "worker.drainTimeoutSeconds=60", "--set", "worker.terminationGracePeriodSeconds=30"]);
        Assert.NotEqual(0, code);
        Assert.Contains("must be greater than worker.preStopSleepSeconds + worker.drainTimeoutSeconds", output, StringComparison.Ordinal);
        var file = Path.Combine(Path.GetTempPath(), $"sluice-chart-gpus-{Environment.ProcessId}.yaml");
        File.WriteAllText(file, """
            workerGroups:
              - { name: gpu, replicas: 1, minReplicas: 0, maxReplicas: 2, gpus: 2, resources: { limits: { nvidia.com/gpu: 1 } } }
            """);
        try
        {
            (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "-f", file]);
            Assert.NotEqual(0, code);
            Assert.Contains("workerGroups[gpu]: gpus 2 needs resources.limits[\"nvidia.com/gpu\"] of at least 2 (got 1)", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The checkers themselves are not vacuous: an unknown field and a wrong type are caught.</summary>
    [Fact]
    public void Checkers_catch_an_unknown_field_and_a_wrong_type()
    {
        const string unknownField = "apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec: { portz: [] }\n";
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(unknownField, Kinds, strict: true));
        var file = Path.Combine(Path.GetTempPath(), $"sluice-chart-wrongtype-{Environment.ProcessId}.yaml");
        File.WriteAllText(file, "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec:\n  replicas: two\n  selector: { matchLabels: { a: b } }\n  template: { metadata: { labels: { a: b } }, spec: { containers: [ { name: c, image: i } ] } }\n");
        try
        {
            var (code, output) = ChartTools.RunNode([ChartTools.Validator, ChartTools.NodeModules, file]);
            Assert.NotEqual(0, code);
            Assert.Contains("spec/replicas must be integer", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
