using System.Diagnostics;

namespace Sluice.Cli.Tests;

/// <summary><c>sluice cluster init</c> and the <c>--tls-ca</c>/<c>--tls-cert</c> options as a real process.</summary>
public sealed class ClusterInitCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(int Code, string Out, string Err)> SluiceAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task ClusterInit_WritesCaAndNodeCertificates_PrintsPathsNeverKeys()
    {
        var (code, stdout, stderr) = await SluiceAsync("cluster", "init", "--out", _dir["certs"], "--nodes", "3");

        Assert.Equal(0, code);
        foreach (var name in new[] { "ca.crt", "ca.key", "node-1.pfx", "node-2.pfx", "node-3.pfx" })
        {
            Assert.True(File.Exists(_dir[Path.Combine("certs", name)]), name);
            Assert.Contains(_dir[Path.Combine("certs", name)], stdout);
        }
        Assert.DoesNotContain("PRIVATE KEY", stdout + stderr);
        Assert.DoesNotContain("BEGIN", stdout + stderr);
    }

    [Fact]
    public async Task Worker_TlsCaWithoutTlsCert_IsRefusedNamingTheOption()
    {
        var (code, stdout, stderr) = await SluiceAsync("worker", "--cluster", "redis://127.0.0.1:1", "--tls-ca", _dir["ca.crt"]);

        Assert.NotEqual(0, code);
        Assert.Contains("--tls-ca needs --tls-cert", stdout + stderr);
    }
}
