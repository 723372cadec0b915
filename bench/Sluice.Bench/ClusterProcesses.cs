using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Bench;

/// <summary>A real <c>redis-server</c> on a free loopback port, without persistence; killed on dispose.</summary>
internal sealed class BenchRedis : IDisposable
{
    private readonly Process _process;

    private BenchRedis(Process process, int port)
    {
        _process = process;
        Uri = $"redis://127.0.0.1:{port}";
    }

    public string Uri { get; }

    public static async Task<BenchRedis> StartAsync()
    {
        var exe = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin")
            .Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed (not on PATH); install it with `apt-get install -y redis-server`");
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new BenchRedis(process, port);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return redis;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(20) && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch
            {
                redis.Dispose();
                throw new InvalidOperationException($"redis-server did not start on port {port}");
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}

/// <summary>A worker node in its own process: <c>dotnet sluice.dll worker --cluster …</c> (sluice.dll sits beside this benchmark).</summary>
internal sealed class BenchWorker : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private BenchWorker(Process process, string nodeId)
    {
        _process = process;
        NodeId = nodeId;
    }

    public string NodeId { get; }

    public int Pid => _process.Id;

    public string Output => string.Join(Environment.NewLine, _output);

    public static async Task<BenchWorker> StartAsync(string redis, string nodeId, params string[] extra)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sluice.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: the benchmark references src/Sluice.Cli so that it lands here");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in new[] { "worker", "--cluster", redis, "--node-id", nodeId }.Concat(extra)) info.ArgumentList.Add(a);
        var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var worker = new BenchWorker(process, nodeId);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            worker._output.Enqueue(e.Data);
            if (e.Data.StartsWith($"worker {nodeId} joined", StringComparison.Ordinal)) joined.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) worker._output.Enqueue(e.Data); };
        process.Exited += (_, _) => joined.TrySetException(new InvalidOperationException($"worker {nodeId} exited: {worker.Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await joined.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            worker.Dispose();
            throw new TimeoutException($"worker {nodeId} did not join within 60 s: {worker.Output}");
        }
        return worker;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}
