using System.Diagnostics;
using System.Globalization;

namespace Sluice.Cluster.Autoscaling;

/// <summary>One <c>sluice worker</c> process the local provider started, its output copied line by line into its log file.</summary>
internal sealed class LocalWorker : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private int _terminated;
    private bool _closed;

    private LocalWorker(Process process, StreamWriter log, string nodeId)
    {
        _process = process;
        _log = log;
        NodeId = nodeId;
    }

    public string NodeId { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Whether it was asked to stop (SIGTERM); an exit without that is a crash or a refusal, told with its log.</summary>
    public bool Terminated => Volatile.Read(ref _terminated) == 1;

    /// <param name="exited">Called once the process has exited, with its exit code.</param>
    public static LocalWorker Start(string sluiceDll, IReadOnlyList<string> args, string? redisPassword, string logFile, string nodeId, Action<LocalWorker, int>? exited = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Environment.CurrentDirectory };
        info.ArgumentList.Add(sluiceDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        if (redisPassword is not null) info.Environment[RedisAddress.PasswordVariable] = redisPassword;
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = exited is not null };
        var worker = new LocalWorker(process, log, nodeId);
        if (exited is not null) process.Exited += (_, _) => worker.OnExited(exited);
        process.OutputDataReceived += (_, e) => worker.Write(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Write(e.Data);
        try
        {
            process.Start();
        }
        catch
        {
            log.Dispose();
            process.Dispose();
            throw;
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    private void Write(string? line)
    {
        if (line is null) return;
        // Both streams' readers call here, each on its own thread, and may still do so after Dispose closed the file.
        lock (_log)
        {
            if (!_closed) _log.WriteLine(line);
        }
    }

    private void OnExited(Action<LocalWorker, int> exited)
    {
        int code;
        try
        {
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            // Disposed already (the provider is stopping everything): nothing to tell.
            return;
        }
        exited(this, code);
    }

    /// <summary>Sends SIGTERM once (as <c>kill -TERM</c>): the worker drains, then leaves. False when already sent or exited.</summary>
    public bool Terminate()
    {
        if (Interlocked.Exchange(ref _terminated, 1) == 1 || _process.HasExited) return false;
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", Pid.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
        return kill.ExitCode == 0;
    }

    /// <summary>The exit code once the process has exited within <paramref name="timeout"/>; null while it still runs.</summary>
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

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    public void Dispose()
    {
        Kill();
        _process.WaitForExit(10_000);
        _process.Dispose();
        lock (_log)
        {
            _closed = true;
            _log.Dispose();
        }
    }
}
