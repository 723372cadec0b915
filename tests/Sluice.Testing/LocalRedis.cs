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

    public string Uri => $"redis://127.0.0.1:{Port}";

    /// <summary>The password the server requires (<c>--requirepass</c>); null when it requires none.</summary>
    public string? Password { get; private init; }

    /// <summary>The address with the password in it: <c>redis://:PASSWORD@127.0.0.1:PORT</c>.</summary>
    public string UriWithPassword => Password is null ? Uri : $"redis://:{System.Uri.EscapeDataString(Password)}@127.0.0.1:{Port}";

    /// <summary>Starts a server; with <paramref name="password"/> it refuses clients that do not give it (NOAUTH).</summary>
    public static async Task<LocalRedis> StartAsync(string? password = null)
    {
        var exe = Find() ?? throw new InvalidOperationException(
            "redis-server is not installed (not on PATH): a local cluster needs it. Install it with `apt-get install -y redis-server` (.ci/run does).");
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) info.ArgumentList.Add(a);
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
        var server = new LocalRedis(process, port) { Password = password };
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
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
