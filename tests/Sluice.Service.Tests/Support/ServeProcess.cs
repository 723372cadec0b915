using System.Diagnostics;
using System.Net.Http.Headers;

namespace Sluice.Service.Tests;

/// <summary>
/// A real <c>sluice serve</c> on a free loopback port (it binds port 0 and prints the address). Disposing it kills the
/// process tree, so no service outlives a test, whatever the test did.
/// </summary>
internal sealed class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private ServeProcess(Process process, Uri url, Task<string> stderr)
    {
        _process = process;
        Url = url;
        _stderr = stderr;
    }

    public Uri Url { get; }

    /// <summary>What the service printed on stderr so far (for a failing assertion's message); only once it has exited.</summary>
    public string Stderr => _stderr.IsCompleted ? _stderr.Result : "(still running)";

    public static Task<ServeProcess> StartAsync(string tokenFile, string state, params string[] roots) => StartAsync(tokenFile, state, roots, []);

    /// <param name="extra">More <c>sluice serve</c> options, e.g. <c>--cluster redis://…</c>.</param>
    public static async Task<ServeProcess> StartAsync(string tokenFile, string state, string[] roots, string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment.Remove("SLUICE_TOKENS");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        foreach (var a in new[] { "serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--state", state }) info.ArgumentList.Add(a);
        foreach (var root in roots) { info.ArgumentList.Add("--root"); info.ArgumentList.Add(root); }
        foreach (var a in extra) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"sluice serve exited ({process.ExitCode}) before listening: {await stderr}");
                if (line.StartsWith("listening on ", StringComparison.Ordinal))
                {
                    // Keep draining stdout so the service never blocks on a full pipe.
                    _ = process.StandardOutput.ReadToEndAsync();
                    return new ServeProcess(process, new Uri(line["listening on ".Length..].Trim()), stderr);
                }
            }
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    public HttpClient Client(string? token)
    {
        var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(2) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>Kills the service at once, as a crash would: no job is told to stop.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }
}
