using k8s.Models;

namespace Sluice.Deploy.Tests;

/// <summary>
/// What a worker pod relies on beyond its arguments: probes on the HTTP health endpoint (--health), the file cache on a
/// mounted emptyDir (--cache-dir), and mutual TLS from the one Secret (--tls-ca, --tls-cert) in every silo.
/// </summary>
public partial class HelmChartTests
{
    /// <summary>The Secret each values file gives as tls.existingSecret; absent: TLS off.</summary>
    private static readonly Dictionary<string, string> TlsSecrets = new()
    {
        ["gpu"] = "sluice-cluster-tls",
        ["driver"] = "sluice-cluster-tls",
        ["tls"] = "sluice-tls",
    };

    /// <summary>The emptyDir volume mounted where --cache-dir points.</summary>
    private static V1Volume CacheVolume(V1PodSpec pod, V1Container worker)
    {
        var dir = Arg(worker, "--cache-dir");
        var mount = Assert.Single(worker.VolumeMounts, m => m.MountPath == dir);
        Assert.True(mount.ReadOnlyProperty != true, $"{dir} is writable");
        var volume = Assert.Single(pod.Volumes, v => v.Name == mount.Name);
        Assert.NotNull(volume.EmptyDir);
        return volume;
    }

    /// <summary>Every silo of a rendering: each worker group's container and the driver's, with its pod.</summary>
    private static List<(string Name, V1PodSpec Pod, V1Container Container)> Silos(List<object> objects) =>
    [
        .. Workers(objects).Select(d => (d.Metadata.Name, d.Spec.Template.Spec, d.Spec.Template.Spec.Containers.Single())),
        .. objects.OfType<V1Job>().Select(j => (j.Metadata.Name, j.Spec.Template.Spec, j.Spec.Template.Spec.Containers.Single())),
    ];

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Probes_ask_the_health_endpoint_liveness_healthz_and_readiness_readyz(string values)
    {
        foreach (var d in Workers(Objects(values)))
        {
            var worker = d.Spec.Template.Spec.Containers.Single();
            // The worker serves health on all interfaces at the port the container names "health".
            var health = Arg(worker, "--health");
            var port = Assert.Single(worker.Ports, p => p.Name == "health");
            Assert.Equal($"0.0.0.0:{port.ContainerPort}", health);
            Assert.NotEqual(port.ContainerPort, Assert.Single(worker.Ports, p => p.Name == "silo").ContainerPort);
            // Liveness (and startup) on /healthz, which stays 200 while the worker drains; readiness on /readyz, 503 then.
            foreach (var (probe, path) in new[] { (worker.StartupProbe, "/healthz"), (worker.LivenessProbe, "/healthz"), (worker.ReadinessProbe, "/readyz") })
            {
                Assert.NotNull(probe?.HttpGet);
                Assert.Null(probe.Exec);
                Assert.Equal((path, "health"), (probe.HttpGet.Path, probe.HttpGet.Port.Value));
                Assert.True(probe.TimeoutSeconds is >= 1, $"{d.Metadata.Name}: {path} probe has a timeout");
            }
            // The startup probe gives the process its time to start; liveness then need not wait on its own.
            Assert.True(worker.StartupProbe.PeriodSeconds * worker.StartupProbe.FailureThreshold >= 60,
                $"{d.Metadata.Name}: the startup probe allows at least 60 s");
            Assert.DoesNotContain("--ready-file", worker.Args);
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Cache_dir_is_a_mounted_emptydir_with_a_size_limit(string values)
    {
        foreach (var d in Workers(Objects(values)))
        {
            var pod = d.Spec.Template.Spec;
            var worker = pod.Containers.Single();
            // Not under the home directory: the root filesystem is read-only.
            Assert.Equal("/var/cache/sluice", Arg(worker, "--cache-dir"));
            var volume = CacheVolume(pod, worker);
            Assert.Equal(values == "gpu" ? "50Gi" : "20Gi", volume.EmptyDir.SizeLimit?.ToString());
            Assert.Null(volume.EmptyDir.Medium);   // on disk, not in the pod's memory
        }
    }

    [Fact]
    public void Cache_without_a_size_limit_is_a_plain_emptydir()
    {
        var (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "worker.cacheSizeLimit=null"]);
        Assert.True(code == 0, output);
        Assert.Contains("- name: cache\n          emptyDir: {}", output, StringComparison.Ordinal);
        (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "worker.cacheSizeLimit=lots"]);
        Assert.NotEqual(0, code);
        Assert.Contains("/worker/cacheSizeLimit", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void Tls_secret_gives_every_silo_the_ca_and_the_node_certificate(string values)
    {
        var objects = Objects(values);
        var silos = Silos(objects);
        Assert.NotEmpty(silos);
        foreach (var (name, pod, c) in silos)
        {
            if (!TlsSecrets.TryGetValue(values, out var secret))
            {
                Assert.DoesNotContain("--tls-ca", c.Args);
                Assert.DoesNotContain("--tls-cert", c.Args);
                Assert.DoesNotContain(pod.Volumes, v => v.Secret is not null);
                continue;
            }
            var mount = Assert.Single(c.VolumeMounts, m => m.Name == "tls");
            Assert.True(mount.ReadOnlyProperty == true, $"{name}: the TLS Secret is mounted read-only");
            Assert.Equal("/etc/sluice/tls", mount.MountPath);
            Assert.Equal($"{mount.MountPath}/ca.crt", Arg(c, "--tls-ca"));
            Assert.Equal($"{mount.MountPath}/node.pfx", Arg(c, "--tls-cert"));
            // The Secret's keys are projected under the file names the arguments give: the CA certificate and the
            // node's PKCS#12 file, nothing else (no CA key, no kubernetes.io/tls PEM pair).
            var volume = Assert.Single(pod.Volumes, v => v.Name == "tls");
            Assert.Equal(secret, volume.Secret.SecretName);
            Assert.Equal([("ca.crt", "ca.crt"), ("node.pfx", "node.pfx")], volume.Secret.Items.Select(i => (i.Key, i.Path)).Order());
        }
        if (values == "driver") Assert.Contains(silos, s => s.Pod.RestartPolicy == "Never");   // the driver is among them
        var rendered = ChartTools.Render(values);
        Assert.DoesNotContain("tls.crt", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("tls.key", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void Chart_refuses_kubernetes_tls_secret_keys_the_ca_key_and_a_health_port_on_the_silo_port()
    {
        foreach (var (field, key) in new[] { ("certKey", "tls.crt"), ("caKey", "tls.key") })
        {
            var (code, output) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "tls.existingSecret=s", "--set", $"tls.{field}={key}"]);
            Assert.NotEqual(0, code);
            Assert.Contains($"tls.{field}: '{key}' is a key of a kubernetes.io/tls Secret", output, StringComparison.Ordinal);
        }
        var (c, o) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "tls.existingSecret=s", "--set", "tls.caKey=ca.key"]);
        Assert.NotEqual(0, c);
        Assert.Contains("'ca.key' is the CA's private key, which stays outside the cluster", o, StringComparison.Ordinal);
        (c, o) = ChartTools.RunHelm(["template", "sluice", ChartTools.Chart, "--set", "worker.healthPort=11111"]);
        Assert.NotEqual(0, c);
        Assert.Contains("worker.healthPort (11111) must differ from siloPort (11111)", o, StringComparison.Ordinal);
    }
}
