using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Sluice.Testing;
using Xunit.Abstractions;

namespace Sluice.Cluster.Tests;

/// <summary>
/// Drivers killed outright (<c>kill -9</c>) in the middle of their jobs leave actors and blocks on a worker; the worker
/// notices each driver's silo is dead and releases them, and its memory returns near its idle level (before: 418 blocks
/// held for good, worker memory 400 -> 864 MiB after three such drivers, and later drains timed out on them).
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class DeadDriverTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-dead-driver-").FullName;

    /// <summary>What each driver must have left on the worker before it is killed: enough that a leak shows in the worker's memory.</summary>
    private const long HeldBytesAtKill = 40L << 20;

    private const int Drivers = 3;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task ThreeDriversKilledMidJob_WorkerReleasesTheirActorsAndBlocks_MemoryBackNearIdle_LaterDrainEndsAtOnce()
    {
        using var redis = await LocalRedis.StartAsync();
        var port = FreePort();
        var id = $"wd-{Guid.NewGuid():N}"[..9];
        // The worker probes the drivers: its fast failure detection declares a killed driver dead in seconds.
        using var worker = await LocalWorkerProcess.StartAsync(redis.Uri, id, "--cpus", "1", "--memory", "2GiB", "--sim-gpus", "2",
            "--metrics", $"127.0.0.1:{port}", "--fast-failure-detection");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // The idle level: the worker after one job ran to its end (its code warm, its threads and connections made), as
        // it is between jobs; a worker that never ran a job would make any later figure look like a leak.
        var warm = await SluiceProcess.RunAsync("run", WriteJob(WriteInput("warm.txt", 2_000), "warm", slowMs: 0.5), "--cluster", redis.Uri, "--workers", "1",
            "--quiet", "--set", "execution.sim_gpus=0");
        Assert.True(warm.Code == 0, $"the warm-up job failed: {warm.Out}{warm.Err}{Environment.NewLine}{worker.Output}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var idle = RssMiB(worker.Pid);
        var input = WriteInput("lines.txt", 60_000);
        var peak = idle;
        var figures = new StringBuilder($"worker {id} idle: {idle} MiB{Environment.NewLine}");
        // Three drivers at once, each with its two actors on the worker (each driver books the worker's GPUs for itself):
        // killed together once every one of them has left blocks there, so the leftovers of all three are held at once.
        var drivers = Enumerable.Range(0, 3).Select(d => StartDriver(WriteJob(input, $"{d}", slowMs: 50), redis.Uri, d)).ToList();
        try
        {
            var clock = Stopwatch.StartNew();
            var at = await NodeNumbersAsync(http, port, id);
            while (at.Bytes < Drivers * HeldBytesAtKill || at.Actors < 2 * Drivers)
            {
                if (drivers.FirstOrDefault(p => p.Process.HasExited) is { } ended)
                    Assert.Fail($"a driver ended (exit {ended.Process.ExitCode}) before the worker held {Drivers * HeldBytesAtKill >> 20} MiB and {2 * Drivers} actors: {at}{Environment.NewLine}{ended.Output}{Environment.NewLine}{worker.Output}");
                if (clock.Elapsed > TimeSpan.FromSeconds(120))
                    Assert.Fail($"the worker did not hold {Drivers * HeldBytesAtKill >> 20} MiB and {2 * Drivers} actors within 120 s: {at}{Environment.NewLine}{string.Join(Environment.NewLine, drivers.Select(p => p.Output))}{Environment.NewLine}{worker.Output}");
                await Task.Delay(100);
                at = await NodeNumbersAsync(http, port, id);
            }
            peak = Math.Max(peak, RssMiB(worker.Pid));
            // SIGKILL: no graceful leave, nothing freed by the drivers.
            foreach (var driver in drivers) driver.Process.Kill();
            foreach (var driver in drivers) await driver.Process.WaitForExitAsync();
            figures.AppendLine($"3 drivers killed after {clock.Elapsed.TotalSeconds:F1} s with the worker holding {at}; worker RSS {RssMiB(worker.Pid)} MiB");
        }
        finally
        {
            foreach (var driver in drivers) driver.Dispose();
        }
        peak = Math.Max(peak, RssMiB(worker.Pid));

        // Released once the worker sees each driver declared dead (about a second each with fast failure detection).
        var released = Stopwatch.StartNew();
        var now = await NodeNumbersAsync(http, port, id);
        while (now.Blocks != 0 || now.Actors != 0)
        {
            if (released.Elapsed > TimeSpan.FromSeconds(60)) break;
            await Task.Delay(200);
            now = await NodeNumbersAsync(http, port, id);
        }
        var releasedAfter = released.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var after = RssMiB(worker.Pid);
        var gone = worker.Output.Split(Environment.NewLine).Where(l => l.Contains("is gone: released", StringComparison.Ordinal)).ToList();
        figures.AppendLine($"after the kills: {now} within {releasedAfter.TotalSeconds:F1} s; worker RSS idle {idle} MiB, peak {peak} MiB, after {after} MiB ({(double)after / idle:F2}x idle)");
        figures.AppendLine(string.Join(Environment.NewLine, gone));
        output.WriteLine(figures.ToString());
        var detail = $"{Environment.NewLine}{figures}{Environment.NewLine}worker output:{Environment.NewLine}{worker.Output}";

        Assert.True(now.Blocks == 0 && now.Actors == 0, $"the worker still holds {now.Blocks} blocks and {now.Actors} actors of the dead drivers 60 s after the last kill{detail}");
        Assert.True(gone.Count == 3, $"{gone.Count} 'driver ... is gone: released' lines, 3 wanted{detail}");
        // Idle is the warm worker between jobs. Back within 1.5x idle, or at least half of what the dead drivers made it
        // grow given back: the heap keeps some slack (more after a larger peak: 496 MiB in one CI run left 235 MiB, 1.69x
        // idle, 73% of the growth returned), and a leak still fails either way — nothing released keeps RSS at its peak.
        var returned = peak > idle ? (double)(peak - after) / (peak - idle) : 1;
        Assert.True(after <= idle * 1.5 || returned >= 0.5,
            $"worker RSS {after} MiB after the release: more than 1.5x its idle {idle} MiB, and only {returned:P0} of the growth to its peak {peak} MiB returned{detail}");

        // A later drain does not wait on the dead drivers' blocks: the worker leaves at once.
        var term = Stopwatch.StartNew();
        worker.Terminate();
        // When each line of the worker's leave appeared (its output carries no times).
        var seen = new List<string>();
        var lines = worker.Output.Split(Environment.NewLine).Length;
        while (!worker.HasExited && term.Elapsed < TimeSpan.FromSeconds(60))
        {
            var all = worker.Output.Split(Environment.NewLine);
            for (; lines < all.Length; lines++) seen.Add($"+{term.Elapsed.TotalSeconds:F1} s {all[lines]}");
            await Task.Delay(100);
        }
        var code = await worker.WaitForExitAsync(TimeSpan.FromSeconds(5));
        seen.Add($"+{term.Elapsed.TotalSeconds:F1} s exited ({code?.ToString(CultureInfo.InvariantCulture) ?? "not yet"})");
        output.WriteLine(string.Join(Environment.NewLine, seen));
        detail += $"{Environment.NewLine}the worker's leave:{Environment.NewLine}{string.Join(Environment.NewLine, seen)}";
        Assert.True(code == 0 && term.Elapsed <= TimeSpan.FromSeconds(10), $"the worker's drain after the release took {term.Elapsed.TotalSeconds:F1} s (exit {code}); 10 s at most wanted{detail}");
        Assert.Contains(worker.Output.Split(Environment.NewLine), l => l.Contains("draining before leaving", StringComparison.Ordinal) && l.Contains("0 block(s)", StringComparison.Ordinal));
    }

    /// <summary>
    /// Lines of 4 KiB read on the driver; stage A (fast) on the worker's first simulated GPU makes blocks that wait there
    /// for stage B (slow) on its second: they pile up in the worker's store, up to what the driver's budget lets through.
    /// </summary>
    private string WriteJob(string input, string name, double slowMs)
    {
        var path = Path.Combine(_dir, $"job-{name}.yaml");
        File.WriteAllText(path, $$"""
            name: dead-driver
            read: { format: text, path: {{input}}, block_rows: 128 }
            stages:
              - { name: A, op: simulate, per_row_ms: 0.01, batch_size: 128, pool: { min: 1, max: 1 }, resources: { gpus: 1 } }
              - { name: B, op: simulate, per_row_ms: {{slowMs.ToString(CultureInfo.InvariantCulture)}}, batch_size: 128, pool: { min: 1, max: 1 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{Path.Combine(_dir, $"out-{name}")}}, mode: overwrite }
            """);
        return path;
    }

    /// <summary>Lines of 4 KiB; 60,000 (about 240 MiB) are more than a driver's budget lets onto the worker before it is killed.</summary>
    private string WriteInput(string name, int lines)
    {
        var input = Path.Combine(_dir, name);
        using var writer = new StreamWriter(input);
        var line = new string('x', 4000);
        for (var i = 0; i < lines; i++) writer.WriteLine($"{i:D8} {line}");
        return input;
    }

    /// <summary>A driver: <c>sluice run</c> on the cluster as its own process; its GPU stages can run only on the worker.</summary>
    private static DriverProcess StartDriver(string job, string redis, int index)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "sluice.dll"), "run", job, "--cluster", redis, "--workers", "1", "--quiet",
            "--set", "execution.sim_gpus=0" }) info.ArgumentList.Add(a);
        var driver = new DriverProcess(Process.Start(info)!, index);
        driver.Process.OutputDataReceived += (_, e) => driver.Add(e.Data);
        driver.Process.ErrorDataReceived += (_, e) => driver.Add(e.Data);
        driver.Process.BeginOutputReadLine();
        driver.Process.BeginErrorReadLine();
        return driver;
    }

    private sealed class DriverProcess(Process process, int index) : IDisposable
    {
        private readonly StringBuilder _output = new();

        public Process Process { get; } = process;

        public string Output
        {
            get { lock (_output) return $"driver {index} output:{Environment.NewLine}{_output}"; }
        }

        public void Add(string? line)
        {
            if (line is null) return;
            lock (_output) _output.AppendLine(line);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    private readonly record struct NodeNumbers(long Blocks, long Bytes, long Actors)
    {
        public override string ToString() => $"{Blocks} blocks ({Bytes >> 20} MiB), {Actors} actors";
    }

    /// <summary>The worker's own numbers from its /metrics (Prometheus text): held blocks and bytes, actors holding a processor.</summary>
    private static async Task<NodeNumbers> NodeNumbersAsync(HttpClient http, int port, string node)
    {
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        long Value(string name)
        {
            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith(name + "{", StringComparison.Ordinal) || !line.Contains($"sluice_node=\"{node}\"", StringComparison.Ordinal)) continue;
                var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
                return (long)double.Parse(value, CultureInfo.InvariantCulture);
            }
            throw new InvalidOperationException($"no {name} series for node {node} in /metrics:{Environment.NewLine}{text}");
        }
        return new(Value("sluice_node_held_blocks"), Value("sluice_node_held_bytes"), Value("sluice_node_held_actors"));
    }

    /// <summary>The process's resident memory (VmRSS of /proc/PID/status), in MiB.</summary>
    private static long RssMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
