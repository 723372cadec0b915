using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests.Autoscaling;

/// <summary>
/// The local provider for real: <c>sluice run --cluster … --autoscale FILE</c> on a real redis-server starts with no
/// worker, starts <c>sluice worker</c> processes for the job's GPU stage, and stops them all after the job.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed partial class LocalAutoscaleTests(ITestOutputHelper output) : IDisposable
{
    private const int Rows = 2000;
    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-autoscale-").FullName;

    [Fact]
    public async Task Run_JobStartsWithNoWorker_ScalesTo3AndBackTo0_OutputExactlyOnce()
    {
        // A Redis with a password: the workers get it through their environment, and no output of any process shows it.
        var password = $"autoscale-{Guid.NewGuid():N}";
        using var redis = await RedisServer.StartAsync(password);
        // 2000 rows x 10 ms on simulated GPUs: 20 s of device time for one actor, so the pool (max 3) wants 3 actors.
        File.WriteAllText(Path.Combine(_dir, "job.yaml"), $$"""
            name: autoscale
            read: { format: range, count: {{Rows}}, block_rows: 50 }
            stages:
              - { name: gpu, op: simulate, per_row_ms: 10, batch_size: 50, pool: { min: 1, max: 3 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: out, mode: overwrite }
            """);
        File.WriteAllText(Path.Combine(_dir, "autoscale.yaml"), """
            provider: local
            idle_timeout: 2s
            up_delay: 500ms
            groups:
              - { name: gpu, min: 0, max: 3, cpus: 1, gpus: 1, simulated_gpus: true }
            """);
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = await SluiceAsync("run", "job.yaml", "--cluster", redis.UriWithPassword, "--autoscale", "autoscale.yaml", "--quiet", "--fast-failure-detection");
        output.WriteLine($"sluice run took {clock.Elapsed.TotalSeconds:F1} s{Environment.NewLine}{stdout}{Environment.NewLine}{stderr}");
        Assert.True(code == 0, $"sluice run exited with {code}: {stderr}{Environment.NewLine}{stdout}");

        Assert.Contains("0 worker node(s)", stdout, StringComparison.Ordinal);
        Assert.Contains("most workers at once: gpu 3", stdout, StringComparison.Ordinal);
        var started = Started().Matches(stdout).Select(m => (Node: m.Groups[1].Value, Pid: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(3, started.Count);
        Assert.Contains("+3 gpu: stage 'gpu' wants", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("still members", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(password, stdout + stderr, StringComparison.Ordinal);

        // Back to 0: every worker drained, left the cluster and exited, none killed.
        var logs = LogDirectory().Match(stdout).Groups[1].Value;
        foreach (var (node, pid) in started)
        {
            Assert.Contains($"worker {node} exited (0)", stdout, StringComparison.Ordinal);
            Assert.False(IsRunning(pid), $"worker {node} (pid {pid}) still runs after the job");
            var log = File.ReadAllText(Path.Combine(logs, node + ".log"));
            Assert.Contains($"worker {node}: leaving the cluster", log, StringComparison.Ordinal);
            Assert.Contains("worker left the cluster", log, StringComparison.Ordinal);
            Assert.DoesNotContain(password, log, StringComparison.Ordinal);
        }

        var ids = new List<long>();
        foreach (var part in Directory.GetFiles(Path.Combine(_dir, "out"), "part-*.jsonl"))
        {
            foreach (var line in File.ReadLines(part).Where(l => l.Length > 0))
                ids.Add(JsonDocument.Parse(line).RootElement.GetProperty("id").GetInt64());
        }
        ids.Sort();
        Assert.True(ids.SequenceEqual(Enumerable.Range(0, Rows).Select(i => (long)i)), $"{ids.Count} rows, {ids.Distinct().Count()} distinct ids: not 0..{Rows - 1} exactly once");
    }

    [Fact]
    public async Task Run_StageNoGroupFits_RefusedBeforeAnythingStarts()
    {
        File.WriteAllText(Path.Combine(_dir, "job.yaml"), """
            read: { format: range, count: 10 }
            stages:
              - { name: big, op: simulate, pool: { min: 1, max: 1 }, resources: { gpus: 2 } }
            write: { format: jsonl, path: out }
            """);
        File.WriteAllText(Path.Combine(_dir, "autoscale.yaml"), """
            groups:
              - { name: gpu, max: 2, gpus: 1, simulated_gpus: true }
              - { name: cpu, max: 2, cpus: 4 }
            """);
        // Nothing listens on port 1: the refusal must come before the driver tries to join.
        var (code, _, stderr) = await SluiceAsync("run", "job.yaml", "--cluster", "redis://127.0.0.1:1", "--autoscale", "autoscale.yaml", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("stage 'big': one actor needs gpus=2, which no worker group offers (gpu: cpus=1 gpus=1 (simulated) memory=unlimited; cpu: cpus=4 gpus=0", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AutoscaleFileWithWrongFields_EachNamedWithWhatIsAccepted()
    {
        File.WriteAllText(Path.Combine(_dir, "job.yaml"), """
            read: { format: range, count: 10 }
            stages:
              - { name: s, op: simulate }
            write: { format: jsonl, path: out }
            """);
        File.WriteAllText(Path.Combine(_dir, "autoscale.yaml"), """
            provider: local
            idle_timeout: soon
            groups:
              - { name: gpu, max: 0, gpus: 1, colour: red }
            """);
        var (code, _, stderr) = await SluiceAsync("run", "job.yaml", "--cluster", "redis://127.0.0.1:1", "--autoscale", "autoscale.yaml", "--quiet");
        Assert.Equal(2, code);
        Assert.Contains("the autoscale file 'autoscale.yaml' is not valid", stderr, StringComparison.Ordinal);
        Assert.Contains("autoscale.yaml line 2: idle_timeout: 'soon' is not accepted; give a duration such as 500ms, 30s, 2m or 1h", stderr, StringComparison.Ordinal);
        Assert.Contains("groups[0].colour: is not a field here", stderr, StringComparison.Ordinal);
        Assert.Contains("groups[0].max: '0' is not accepted; give 1 or more", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_KubernetesProvider_OutsideAPod_RefusedSayingItRunsInAPod_NoKubernetesApiServerHere()
    {
        // The real provider, wired to `provider: kubernetes`; no Kubernetes API server (nor a pod's service account) exists here,
        // so what can be checked is that it is the one the file selects and that it refuses clearly outside a pod.
        using var redis = await RedisServer.StartAsync();
        File.WriteAllText(Path.Combine(_dir, "job.yaml"), """
            read: { format: range, count: 10 }
            stages:
              - { name: s, op: simulate, resources: { cpus: 1 } }
            write: { format: jsonl, path: out }
            """);
        File.WriteAllText(Path.Combine(_dir, "autoscale.yaml"), """
            provider: kubernetes
            groups:
              - { name: cpu, max: 2, cpus: 1 }
            """);
        var (code, stdout, stderr) = await SluiceAsync("run", "job.yaml", "--cluster", redis.Uri, "--autoscale", "autoscale.yaml", "--quiet");
        Assert.True(code == 1, $"exit {code}: {stdout}{stderr}");
        Assert.Contains("the kubernetes autoscale provider runs in a pod", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "out", "_SUCCESS")));
    }

    private Task<(int Code, string Out, string Err)> SluiceAsync(params string[] args) =>
        Sluice.Testing.SluiceProcess.RunInAsync(_dir, new Dictionary<string, string>(), args);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"started worker (\S+) \(pid (\d+)\)")]
    private static partial Regex Started();

    [GeneratedRegex(@"local workers' output goes to (\S+)/NODE\.log")]
    private static partial Regex LogDirectory();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
