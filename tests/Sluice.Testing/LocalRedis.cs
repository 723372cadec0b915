using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Testing;

/// <summary>A <c>redis-server</c> process (Debian's package) on a free loopback port, without persistence; killed on dispose.</summary>
public sealed class LocalRedis : IDisposable
{
    private readonly Process _process;

    private LocalRedis(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The address the server is bound to (127.0.0.1 unless given).</summary>
    public IPAddress Host { get; private init; } = IPAddress.Loopback;

    public string Uri => $"redis://{Host}:{Port}";

    /// <summary>The password the server requires (<c>--requirepass</c>); null when it requires none.</summary>
    public string? Password { get; private init; }

    /// <summary>The address with the password in it: <c>redis://:PASSWORD@127.0.0.1:PORT</c>.</summary>
    public string UriWithPassword => Password is null ? Uri : $"redis://:{System.Uri.EscapeDataString(Password)}@{Host}:{Port}";

    /// <summary>Starts a server; with <paramref name="password"/> it refuses clients that do not give it (NOAUTH).</summary>
    public static Task<LocalRedis> StartAsync(string? password = null) => StartAsync(password, IPAddress.Loopback);

    /// <summary>As above, bound to <paramref name="host"/> (e.g. a bridge's address; protected mode off, the server is reached from other hosts).</summary>
    public static Task<LocalRedis> StartAsync(string? password, IPAddress host) => StartAsync(password, host, fixedPort: null);

    /// <summary>
    /// A new, empty server on the loopback port of one that was killed (<see cref="Kill"/>): what the cluster sees when its
    /// Redis restarts without persistence. Same password, if any.
    /// </summary>
    public Task<LocalRedis> RestartEmptyAsync()
    {
        if (!_process.HasExited) throw new InvalidOperationException($"redis-server on port {Port} is still running: Kill() it first");
        return StartAsync(Password, Host, Port);
    }

    /// <summary>Kills the server outright (as a crash would); <see cref="RestartEmptyAsync"/> brings up an empty one on its port.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(5000);
    }

    private static async Task<LocalRedis> StartAsync(string? password, IPAddress host, int? fixedPort)
    {
        var exe = Find() ?? throw new InvalidOperationException(
            "redis-server is not installed (not on PATH): a local cluster needs it. Install it with `apt-get install -y redis-server` (.ci/run does).");
        int port;
        if (fixedPort is { } given) port = given;
        else
        {
            using var probe = new TcpListener(host, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", host.ToString(), "--save", "", "--appendonly", "no" }) info.ArgumentList.Add(a);
        if (!host.Equals(IPAddress.Loopback)) foreach (var a in new[] { "--protected-mode", "no" }) info.ArgumentList.Add(a);
        if (password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(password);
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new LocalRedis(process, port) { Password = password, Host = host };
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(host, port).ConfigureAwait(false);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
            catch
            {
                server.Dispose();
                throw new InvalidOperationException($"redis-server did not start on port {port} (exited: {process.HasExited})");
            }
        }
    }

    private static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin")
            .Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}
