using System.Collections.Concurrent;
using System.Diagnostics;

namespace Sluice.Testing;

/// <summary>
/// A worker node in its own process on this machine: <c>dotnet sluice.dll worker --cluster …</c>.
/// For tests, benchmarks and trying a cluster on one machine; sluice.dll is looked up beside the
/// calling program unless given.
/// </summary>
public sealed class LocalWorkerProcess : IDisposable
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private LocalWorkerProcess(Process process, string nodeId)
    {
        _process = process;
        NodeId = nodeId;
    }

    public string NodeId { get; }

    public int Pid => _process.Id;

    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>Starts a worker and waits (up to a minute) until it has joined the cluster.</summary>
    /// <param name="extra">More <c>sluice worker</c> options, e.g. <c>--cpus 2 --sim-gpus 2 --fast-failure-detection</c>.</param>
    public static Task<LocalWorkerProcess> StartAsync(string redis, string nodeId, params string[] extra) =>
        StartAsync(Path.Combine(AppContext.BaseDirectory, "sluice.dll"), redis, nodeId, extra);

    /// <summary>As above, with <paramref name="environment"/> added to the worker's environment (e.g. SLUICE_REDIS_PASSWORD).</summary>
    public static Task<LocalWorkerProcess> StartAsync(string redis, string nodeId, IReadOnlyDictionary<string, string> environment, params string[] extra) =>
        StartAsync(Path.Combine(AppContext.BaseDirectory, "sluice.dll"), redis, nodeId, extra, environment);

    /// <param name="workingDirectory">The worker's working directory (relative paths resolve there); null = this process's.</param>
    public static async Task<LocalWorkerProcess> StartAsync(string sluiceDll, string redis, string nodeId, IEnumerable<string> extra,
        IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? launcher = null, string? workingDirectory = null)
    {
        if (!File.Exists(sluiceDll)) throw new InvalidOperationException($"{sluiceDll} is missing: reference src/Sluice.Cli so that sluice.dll lands beside the program");
        // The worker signals that it has joined by the file it writes (--ready-file), not by its console wording.
        var readyFile = Path.Combine(Path.GetTempPath(), $"sluice-ready-{nodeId}-{Guid.NewGuid():N}");
        // A launcher runs dotnet in another context, e.g. `ip netns exec NAME` (which execs: the pid stays the worker's).
        var command = (launcher ?? []).Concat(["dotnet", sluiceDll]).ToList();
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        foreach (var a in command.Skip(1)) info.ArgumentList.Add(a);
        foreach (var a in new[] { "worker", "--cluster", redis, "--node-id", nodeId, "--ready-file", readyFile }.Concat(extra)) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        var process = new Process { StartInfo = info };
        var worker = new LocalWorkerProcess(process, nodeId);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) worker._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) worker._output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow + JoinTimeout;
            // The file appears by a rename, whole: its existence means joined.
            while (!File.Exists(readyFile))
            {
                if (process.HasExited)
                {
                    // Let the output readers catch up so that the message carries the worker's last words.
                    process.WaitForExit();
                    throw new InvalidOperationException($"worker {nodeId} exited with {process.ExitCode} before joining: {worker.Output}");
                }
                if (DateTime.UtcNow >= deadline)
                    throw new TimeoutException($"worker {nodeId} did not join within {JoinTimeout.TotalSeconds:F0} s: {worker.Output}");
                // 50 ms: a join takes seconds, so polling costs nothing and adds at most this to each start.
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
        catch
        {
            worker.Dispose();
            throw;
        }
        finally
        {
            File.Delete(readyFile);
        }
        return worker;
    }

    public bool HasExited => _process.HasExited;

    private string? _readyFile;

    /// <summary>For a worker started by <see cref="Launch"/>: whether it has written its ready file (it has joined).</summary>
    public bool HasJoined => _readyFile is not null && File.Exists(_readyFile);

    /// <summary>
    /// Starts a worker and does not wait for it to join: for a worker that is expected never to (refused by the cluster).
    /// <see cref="HasJoined"/> tells whether it has; <see cref="Dispose"/> kills it.
    /// </summary>
    public static LocalWorkerProcess Launch(string redis, string nodeId, params string[] extra)
    {
        var sluiceDll = Path.Combine(AppContext.BaseDirectory, "sluice.dll");
        if (!File.Exists(sluiceDll)) throw new InvalidOperationException($"{sluiceDll} is missing: reference src/Sluice.Cli so that sluice.dll lands beside the program");
        var readyFile = Path.Combine(Path.GetTempPath(), $"sluice-ready-{nodeId}-{Guid.NewGuid():N}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(sluiceDll);
        foreach (var a in new[] { "worker", "--cluster", redis, "--node-id", nodeId, "--ready-file", readyFile }.Concat(extra)) info.ArgumentList.Add(a);
        var process = new Process { StartInfo = info };
        var worker = new LocalWorkerProcess(process, nodeId) { _readyFile = readyFile };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) worker._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) worker._output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Asks the worker to leave, as <c>kill -TERM</c> (or a container runtime) would: it drains, then leaves.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit(10_000);
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -TERM {Pid} exited with {kill.ExitCode}");
    }

    /// <summary>The exit code once the process has exited on its own within <paramref name="timeout"/>; null if it is still running.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        return _process.ExitCode;
    }

    /// <summary>Kills the process outright, as <c>kill -9</c> would: no graceful leave.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        if (_readyFile is not null) File.Delete(_readyFile);
    }
}
