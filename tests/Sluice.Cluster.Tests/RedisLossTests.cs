using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// The cluster's Redis lost, on a real cluster (real <c>redis-server</c>, real <c>sluice worker</c> and <c>sluice run</c>
/// processes): a driver whose Redis dies mid-job finishes its job and exits within seconds, saying so; a worker dropped by a
/// Redis restarted empty rejoins and a new driver runs a job on it; SIGTERM ends a worker while Redis is down. The Redis
/// has a password in each test, and no output may show it.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class RedisLossTests(ITestOutputHelper output)
{
    private static readonly string[] WorkerArgs = ["--cpus", "1", "--sim-gpus", "2", "--memory", "1GiB", "--fast-failure-detection"];

    private static string Tag() => Guid.NewGuid().ToString("N")[..6];

    private static string Password() => $"pw-{Guid.NewGuid():N}";

    [Fact]
    public async Task RedisKilledMidJob_DriverFinishesAndExitsWithinSeconds_SayingRedisIsUnreachable()
    {
        using var redis = await RedisServer.StartAsync(Password());
        using var worker = await WorkerProcess.StartAsync(redis.UriWithPassword, $"w-{Tag()}", WorkerArgs);
        var dir = SimulatedJob.TempDir("redis-loss");
        try
        {
            // 6000 rows x 4 ms on the worker's 2 simulated GPUs: about 12 s of device time, so that the job runs on for
            // seconds after the kill (the first progress line comes at 5 s).
            var spec = await JobSpecAsync(dir, rows: 6000);
            var outDir = Path.Combine(dir, "out");
            using var driver = CliProcess.Start("run", spec, "--cluster", redis.UriWithPassword, "--fast-failure-detection");
            var clock = Stopwatch.StartNew();
            await WaitForProgressAsync(driver, clock, worker);
            redis.Kill();
            var killedAt = clock.Elapsed;

            // The job's end is its _SUCCESS marker (the commit's last step); the driver must exit soon after, not minutes later.
            TimeSpan? succeededAt = null;
            while (!driver.HasExited)
            {
                if (succeededAt is null && File.Exists(Path.Combine(outDir, "_SUCCESS"))) succeededAt = clock.Elapsed;
                if (clock.Elapsed - killedAt > TimeSpan.FromSeconds(120)) Assert.Fail($"the driver was still running 120 s after Redis was killed:{Environment.NewLine}{driver.Text}");
                await Task.Delay(100);
            }
            var exitedAt = clock.Elapsed;
            if (succeededAt is null && File.Exists(Path.Combine(outDir, "_SUCCESS"))) succeededAt = exitedAt;
            var code = driver.ExitCode;
            var text = driver.Text;
            output.WriteLine($"Redis killed at {killedAt.TotalSeconds:F1} s; _SUCCESS at {succeededAt?.TotalSeconds.ToString("F1") ?? "never"} s; driver exited at {exitedAt.TotalSeconds:F1} s with {code}");
            output.WriteLine(string.Join(Environment.NewLine, driver.Lines.Where(l => l.Contains("Redis", StringComparison.Ordinal))));

            Assert.True(code == 0, $"the driver failed (exit {code}):{Environment.NewLine}{text}");
            Assert.NotNull(succeededAt);
            // Bound: the driver gives its leave 10 s (3 s once it knows Redis is down, NodeStop); 20 s leaves room for a loaded machine.
            Assert.True(exitedAt - succeededAt!.Value <= TimeSpan.FromSeconds(20),
                $"the driver exited {(exitedAt - succeededAt.Value).TotalSeconds:F1} s after its job ended (at most 20 s wanted):{Environment.NewLine}{text}");
            Assert.Contains($"Redis at redis://***@127.0.0.1:{redis.Port} is unreachable", text);
            Assert.DoesNotContain(redis.Password!, text);

            // Every row exactly once.
            var ids = new List<long>();
            foreach (var file in Directory.GetFiles(outDir, "part-*.jsonl"))
                foreach (var line in await File.ReadAllLinesAsync(file))
                    ids.Add(JsonDocument.Parse(line).RootElement.GetProperty("id").GetInt64());
            ids.Sort();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, 6000).Select(i => (long)i)), $"output ids are not 0..5999 exactly once: {JobOutput.Diff(ids, 6000)}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task RedisKilledThenWorkerLost_JobCannotProgress_DriverFailsWithinSecondsSayingWhy()
    {
        using var redis = await RedisServer.StartAsync(Password());
        using var worker = await WorkerProcess.StartAsync(redis.UriWithPassword, $"w-{Tag()}", WorkerArgs);
        var dir = SimulatedJob.TempDir("redis-stall");
        try
        {
            var spec = await JobSpecAsync(dir, rows: 20000);
            using var driver = CliProcess.Start("run", spec, "--cluster", redis.UriWithPassword, "--fast-failure-detection");
            var clock = Stopwatch.StartNew();
            await WaitForProgressAsync(driver, clock, worker);
            // Redis gone, then the only worker: its actors cannot be replaced (no node, and no grain directory), so the job stands still.
            redis.Kill();
            worker.Kill();
            var killedAt = clock.Elapsed;
            // Bound: Redis found unreachable within 2 + 3 s, the stall window (15 s, RedisStallWatch), the leave (3 s), and 15 s for a loaded machine.
            var bound = TimeSpan.FromSeconds(5 + 15 + 3 + 15);
            while (!driver.HasExited && clock.Elapsed - killedAt < bound) await Task.Delay(100);
            var exitedAfter = clock.Elapsed - killedAt;
            Assert.True(driver.HasExited, $"the driver was still running {bound.TotalSeconds:0} s after Redis and the worker were killed:{Environment.NewLine}{driver.Text}");
            var code = driver.ExitCode;
            var text = driver.Text;
            output.WriteLine($"driver exited {exitedAfter.TotalSeconds:F1} s after the kills with {code}");
            output.WriteLine(string.Join(Environment.NewLine, driver.Lines.Where(l => l.Contains("Redis", StringComparison.Ordinal))));

            Assert.NotEqual(0, code);
            Assert.Contains($"the job cannot progress: Redis at redis://***@127.0.0.1:{redis.Port} is unreachable", text);
            Assert.DoesNotContain(redis.Password!, text);
            Assert.False(File.Exists(Path.Combine(dir, "out", "_SUCCESS")), "a job that failed left a _SUCCESS marker");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task RedisRestartedEmpty_WorkerRejoins_NewDriverRunsAJobOnIt()
    {
        var redis = await RedisServer.StartAsync(Password());
        var health = FreePort();
        using var worker = await WorkerProcess.StartAsync(redis.UriWithPassword, $"w-{Tag()}", [.. WorkerArgs, "--health", $"127.0.0.1:{health}"]);
        var dir = SimulatedJob.TempDir("redis-rejoin");
        try
        {
            Assert.Equal(200, (await ReadyAsync(health)).Status);
            redis.Kill();
            // Out while Redis is down: not ready, saying why (the worker reads its entry every 2 s, each read bounded by 3 s).
            var down = await WaitForReadyAsync(health, 503, TimeSpan.FromSeconds(20));
            Assert.Contains($"Redis at redis://***@127.0.0.1:{redis.Port} is unreachable", down.Text);

            var clock = Stopwatch.StartNew();
            var restarted = await redis.RestartEmptyAsync();
            redis.Dispose();
            redis = restarted;
            // Back, empty: the worker finds its entry gone, drops its silo and joins again under the same id.
            var ready = await WaitForReadyAsync(health, 200, TimeSpan.FromSeconds(45), worker);
            var rejoinedIn = clock.Elapsed;
            output.WriteLine($"worker ready again {rejoinedIn.TotalSeconds:F1} s after Redis came back empty: {ready.Text}");
            output.WriteLine(string.Join(Environment.NewLine, worker.Output.Split(Environment.NewLine).Where(l => l.Contains("Redis", StringComparison.Ordinal) || l.Contains("join", StringComparison.Ordinal))));
            Assert.Contains(worker.Output.Split(Environment.NewLine), l => l.Contains($"worker {worker.NodeId}: dropped from the cluster", StringComparison.Ordinal));
            Assert.Contains(worker.Output.Split(Environment.NewLine), l => l.Contains($"worker {worker.NodeId}: rejoined the cluster", StringComparison.Ordinal));

            // A new driver finds it and runs a job on it: every row once, every row made by the worker's process.
            await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.UriWithPassword, NodeId = $"driver-{Tag()}", FastFailureDetection = true });
            await driver.WaitForWorkersAsync(1, TimeSpan.FromSeconds(30));
            Assert.Contains(driver.Nodes, n => n.Id == worker.NodeId);
            var job = JobExecution.Start(SimulatedJob.Build(1000, 50, perRowMs: 1, new PoolSize(1, 2), new PoolSize(1, 1)), Sinks.Parquet(dir),
                new ExecutionOptions { Runtime = driver, WriteMode = WriteMode.Overwrite });
            await job.Completion.WaitAsync(TimeSpan.FromMinutes(2));
            var ids = (await JobOutput.ReadSortedAsync(dir, "pid")).Select(r => r.Id).ToList();
            Assert.True(ids.SequenceEqual(Enumerable.Range(0, 1000).Select(i => (long)i)), $"output ids are not 0..999 exactly once: {JobOutput.Diff(ids, 1000)}");
            Assert.Equal(new HashSet<int> { worker.Pid }, await JobOutput.DistinctInt32Async(dir, "pid"));
            Assert.DoesNotContain(redis.Password!, worker.Output);
        }
        finally
        {
            redis.Dispose();
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task RedisDown_Sigterm_WorkerExitsWithinItsDrainTimeout()
    {
        using var redis = await RedisServer.StartAsync(Password());
        var health = FreePort();
        const int drainSeconds = 5;
        using var worker = await WorkerProcess.StartAsync(redis.UriWithPassword, $"w-{Tag()}",
            [.. WorkerArgs, "--health", $"127.0.0.1:{health}", "--drain-timeout", drainSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        redis.Kill();
        await WaitForReadyAsync(health, 503, TimeSpan.FromSeconds(20));

        var clock = Stopwatch.StartNew();
        worker.Terminate();
        // Bound: the drain timeout, then the leave's bound (10 s; 3 s when Redis is known down), plus 5 s for a loaded machine.
        var bound = TimeSpan.FromSeconds(drainSeconds) + TimeSpan.FromSeconds(10) + TimeSpan.FromSeconds(5);
        var code = await worker.WaitForExitAsync(bound);
        output.WriteLine($"worker exited {clock.Elapsed.TotalSeconds:F1} s after SIGTERM with Redis down (code {code?.ToString() ?? "none"}){Environment.NewLine}{worker.Output}");

        Assert.True(code == 0, $"the worker did not exit with 0 within {bound.TotalSeconds:0} s of SIGTERM (code {code?.ToString() ?? "none: still running"}):{Environment.NewLine}{worker.Output}");
        Assert.Contains(worker.Output.Split(Environment.NewLine), l => l.Contains($"Redis at redis://***@127.0.0.1:{redis.Port} is unreachable", StringComparison.Ordinal));
        Assert.DoesNotContain(redis.Password!, worker.Output);
    }

    /// <summary>A job on the worker's simulated GPUs: <paramref name="rows"/> rows x 4 ms on 2 actors, JSON Lines to <c>DIR/out</c>.</summary>
    private static async Task<string> JobSpecAsync(string dir, int rows)
    {
        var spec = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: redis-loss
            read: { format: range, count: {{rows}}, block_rows: 50 }
            stages:
              - { name: model, op: simulate, per_row_ms: 4, batch_size: 50, pool: { min: 2, max: 2 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{Path.Combine(dir, "out")}}, mode: overwrite }
            """);
        return spec;
    }

    /// <summary>Waits for the driver's first progress line with rows through the model (non-interactive output: every 5 s).</summary>
    private static async Task WaitForProgressAsync(CliProcess driver, Stopwatch clock, WorkerProcess worker)
    {
        while (!driver.Lines.Any(l => l.Contains("model: ", StringComparison.Ordinal) && !l.Contains("model: 0 rows", StringComparison.Ordinal)))
        {
            if (driver.HasExited) Assert.Fail($"the driver exited before the job made progress:{Environment.NewLine}{driver.Text}{worker.Output}");
            if (clock.Elapsed > TimeSpan.FromSeconds(90)) Assert.Fail($"no progress within 90 s:{Environment.NewLine}{driver.Text}");
            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int Status, string Text)> ReadyAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz"));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/>; fails the test after <paramref name="timeout"/>.</summary>
    private static async Task<(int Status, string Text)> WaitForReadyAsync(int port, int status, TimeSpan timeout, WorkerProcess? worker = null)
    {
        var clock = Stopwatch.StartNew();
        var last = (Status: 0, Text: "");
        while (clock.Elapsed < timeout)
        {
            try
            {
                last = await ReadyAsync(port);
                if (last.Status == status) return last;
            }
            catch (HttpRequestException e)
            {
                last = (0, e.Message);
            }
            await Task.Delay(200);
        }
        Assert.Fail($"/readyz did not answer {status} within {timeout.TotalSeconds:0} s; last {last.Status}: {last.Text}{Environment.NewLine}{worker?.Output}");
        return last;
    }
}

/// <summary>The built <c>sluice</c> command as a running process whose output is read as it comes (<see cref="Sluice.Testing.SluiceProcess"/> waits for the end).</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private CliProcess(Process process) => _process = process;

    public static CliProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = new Process { StartInfo = info };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) cli._lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) cli._lines.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    public IReadOnlyCollection<string> Lines => _lines;

    public string Text => string.Join(Environment.NewLine, _lines);

    public bool HasExited => _process.HasExited;

    public int ExitCode
    {
        get
        {
            // Let the output readers catch up with the last lines.
            _process.WaitForExit();
            return _process.ExitCode;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}
