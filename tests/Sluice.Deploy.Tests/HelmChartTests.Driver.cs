using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;
using Sluice.Cluster.Autoscaling;
using YamlDotNet.Serialization;

namespace Sluice.Deploy.Tests;

/// <summary>
/// The driver Job (driver.enabled, examples/driver.yaml) and what the autoscaler relies on in the workers: each worker
/// names its group and takes its pod's name as node id; the autoscale file the driver reads names the worker
/// Deployments with their bounds, in the field names of <see cref="AutoscaleOptions"/> and <see cref="WorkerGroup"/>.
/// </summary>
public partial class HelmChartTests
{
    private static V1Job Driver(List<object> objects) => Assert.Single(objects.OfType<V1Job>());

    private static string ConfigFile(List<object> objects, V1PodSpec pod, V1Container container, string mountPath)
    {
        var mount = Assert.Single(container.VolumeMounts, m => m.MountPath == mountPath);
        var volume = Assert.Single(pod.Volumes, v => v.Name == mount.Name);
        Assert.NotNull(volume.ConfigMap);
        Assert.True(mount.ReadOnlyProperty == true, $"{mountPath} is mounted read-only");
        var map = Assert.Single(objects.OfType<V1ConfigMap>(), c => c.Metadata.Name == volume.ConfigMap.Name);
        Assert.True(map.Data.TryGetValue(mount.SubPath, out var text), $"ConfigMap {map.Metadata.Name} has no key {mount.SubPath}");
        return text;
    }

    private static Dictionary<object, object> Yaml(string text) => new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(text);

    private static string SnakeCase(string name) => Regex.Replace(name, "(?<=[a-z0-9])([A-Z])", "_$1").ToLowerInvariant();

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Workers_take_their_group_and_their_pod_name_as_node_id(string values)
    {
        foreach (var d in Workers(Objects(values)))
        {
            var worker = d.Spec.Template.Spec.Containers.Single();
            Assert.Equal(d.Metadata.Labels["sluice.dev/worker-group"], Arg(worker, "--group"));
            // The kubelet expands $(POD_NAME) from the container's own variable: the node id is the pod's name, which
            // is what the kubernetes provider marks with pod-deletion-cost when the autoscaler removes that worker.
            Assert.Equal("$(POD_NAME)", Arg(worker, "--node-id"));
            Assert.Equal("metadata.name", worker.Env.Single(e => e.Name == "POD_NAME").ValueFrom.FieldRef.FieldPath);
            Assert.Equal("status.podIP", worker.Env.Single(e => e.Name == "POD_IP").ValueFrom.FieldRef.FieldPath);
            Assert.Equal("0.0.0.0:11111", Arg(worker, "--listen"));
            Assert.Contains(worker.Ports, p => p.Name == "silo" && p.ContainerPort == 11111);
        }
    }

    [Theory]
    [InlineData("default")]
    [InlineData("gpu")]
    [InlineData("external-redis")]
    public void Driver_is_off_by_default(string values)
    {
        var objects = Objects(values);
        Assert.Empty(objects.OfType<V1Job>());
        Assert.Empty(objects.OfType<V1ConfigMap>());
    }

    [Fact]
    public void Driver_job_runs_sluice_run_with_autoscale_and_mounts_both_configmaps()
    {
        var objects = Objects("driver");
        var job = Driver(objects);
        var pod = job.Spec.Template.Spec;
        var driver = Assert.Single(pod.Containers);
        var worker = Workers(objects)[0].Spec.Template.Spec.Containers.Single();

        Assert.Equal("Never", pod.RestartPolicy);
        Assert.Equal(0, job.Spec.BackoffLimit);
        // The one pod of the chart with an API token: the autoscaler's ServiceAccount, bound to the Role.
        Assert.Equal(Assert.Single(objects.OfType<V1ServiceAccount>()).Metadata.Name, pod.ServiceAccountName);
        Assert.Equal(pod.ServiceAccountName, Assert.Single(objects.OfType<V1RoleBinding>()).Subjects.Single().Name);
        Assert.True(pod.AutomountServiceAccountToken == true);

        Assert.Equal(["run", "/etc/sluice/job.yaml"], driver.Args.Take(2));
        Assert.Equal(Arg(worker, "--cluster"), Arg(driver, "--cluster"));
        Assert.Equal("/etc/sluice/autoscale.yaml", Arg(driver, "--autoscale"));
        Assert.Equal("0.0.0.0:11111", Arg(driver, "--listen"));
        Assert.Equal("status.podIP", driver.Env.Single(e => e.Name == "POD_IP").ValueFrom.FieldRef.FieldPath);
        var password = driver.Env.Single(e => e.Name == "SLUICE_REDIS_PASSWORD");
        Assert.Null(password.Value);
        var workerPassword = worker.Env.Single(e => e.Name == "SLUICE_REDIS_PASSWORD").ValueFrom.SecretKeyRef;
        Assert.Equal((workerPassword.Name, workerPassword.Key), (password.ValueFrom.SecretKeyRef.Name, password.ValueFrom.SecretKeyRef.Key));

        // Both files come from the chart's ConfigMaps; the job spec is the one in the values.
        var jobSpec = Yaml(ConfigFile(objects, pod, driver, "/etc/sluice/job.yaml"));
        Assert.Equal("sim-two-stage", jobSpec["name"]);
        Assert.Equal(2, ((List<object>)jobSpec["stages"]).Count);
        Assert.Equal("kubernetes", Yaml(ConfigFile(objects, pod, driver, "/etc/sluice/autoscale.yaml"))["provider"]);

        // TLS material mounted as in the workers; non-root, read-only root, a writable /tmp.
        var tls = worker.VolumeMounts.Single(m => m.Name == "tls");
        Assert.Contains(driver.VolumeMounts, m => m.Name == "tls" && m.MountPath == tls.MountPath && m.ReadOnlyProperty == true);
        Assert.Contains(pod.Volumes, v => v.Name == "tls" && v.Secret.SecretName == "sluice-cluster-tls");
        Assert.True(pod.SecurityContext?.RunAsNonRoot == true && driver.SecurityContext?.ReadOnlyRootFilesystem == true && driver.SecurityContext?.AllowPrivilegeEscalation == false);
        Assert.Contains(driver.VolumeMounts, m => m.MountPath == "/tmp");
        Assert.Contains(driver.VolumeMounts, m => m.MountPath == "/data");   // extraVolumeMounts
    }

    [Fact]
    public void Autoscale_configmap_groups_match_the_worker_deployments_and_the_contracts_field_names()
    {
        var objects = Objects("driver");
        var pod = Driver(objects).Spec.Template.Spec;
        var file = Yaml(ConfigFile(objects, pod, pod.Containers.Single(), "/etc/sluice/autoscale.yaml"));

        // Every field is the snake_case of a property of the contract (the names the CLI's autoscale file binds).
        var optionFields = typeof(AutoscaleOptions).GetProperties().Select(p => SnakeCase(p.Name)).ToHashSet();
        var groupFields = typeof(WorkerGroup).GetProperties().Select(p => SnakeCase(p.Name)).ToHashSet();
        Assert.Subset(optionFields, file.Keys.Cast<string>().ToHashSet());
        Assert.Equal(("kubernetes", "batch"), (file["provider"], file["namespace"]));
        Assert.Equal(("60s", "300s", "2s"), (file["idle_timeout"], file["launch_timeout"], file["up_delay"]));

        var groups = ((List<object>)file["groups"]).Cast<Dictionary<object, object>>().ToList();
        var workers = Workers(objects);
        Assert.Equal(workers.Count, groups.Count);
        var parsed = new List<WorkerGroup>();
        foreach (var d in workers)
        {
            var name = d.Metadata.Labels["sluice.dev/worker-group"];
            var g = Assert.Single(groups, g => (string)g["name"] == name);
            Assert.Subset(groupFields, g.Keys.Cast<string>().ToHashSet());
            Assert.Equal(d.Metadata.Name, g["deployment"]);
            Assert.Equal(d.Metadata.Annotations["sluice.dev/min-replicas"], g["min"]);
            Assert.Equal(d.Metadata.Annotations["sluice.dev/max-replicas"], g["max"]);
            // What one worker offers is what it is started with.
            var worker = d.Spec.Template.Spec.Containers.Single();
            Assert.Equal(Arg(worker, "--cpus"), g["cpus"]);
            Assert.Equal(worker.Args.Contains("--gpus") ? Arg(worker, "--gpus") : null, g.GetValueOrDefault("gpus"));
            Assert.Equal(Arg(worker, "--memory"), g["memory"]);
            parsed.Add(new WorkerGroup
            {
                Name = name,
                Min = int.Parse((string)g["min"], CultureInfo.InvariantCulture),
                Max = int.Parse((string)g["max"], CultureInfo.InvariantCulture),
                Cpus = double.Parse((string)g["cpus"], CultureInfo.InvariantCulture),
                Gpus = g.TryGetValue("gpus", out var gpus) ? double.Parse((string)gpus, CultureInfo.InvariantCulture) : 0,
                Deployment = (string)g["deployment"],
            });
        }
        // The groups pass the contract's own checks.
        Assert.Empty(new AutoscaleOptions { Provider = "kubernetes", Namespace = "batch", Groups = parsed }.Problems());
        Assert.Equal((1, 2), (parsed.Single(g => g.Name == "cpu").Min, parsed.Single(g => g.Name == "cpu").Max));
        Assert.Equal((0, 4, 1.0), (parsed.Single(g => g.Name == "gpu").Min, parsed.Single(g => g.Name == "gpu").Max, parsed.Single(g => g.Name == "gpu").Gpus));
    }

    [Fact]
    public void Driver_needs_a_job_spec_and_worker_groups_that_offer_cpus_or_gpus()
    {
        var (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "driver.enabled=true"]);
        Assert.NotEqual(0, code);
        Assert.Contains("/driver/jobSpec", output, StringComparison.Ordinal);
        var file = Path.Combine(Path.GetTempPath(), $"sluice-chart-driver-nocpus-{Environment.ProcessId}.yaml");
        File.WriteAllText(file, """
            driver: { enabled: true, jobSpec: { name: j } }
            workerGroups:
              - { name: any, replicas: 1, minReplicas: 0, maxReplicas: 2, resources: {} }
            """);
        try
        {
            (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "-f", file]);
            Assert.NotEqual(0, code);
            Assert.Contains("workerGroups[any]: give cpus or gpus when driver.enabled is true", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
