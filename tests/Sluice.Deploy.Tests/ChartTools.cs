using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Sluice.Deploy.Tests;

/// <summary>
/// Finds and runs the offline tools the chart test needs: helm (SLUICE_HELM, else .ci/tools/helm/helm), node, and the
/// npm packages with the Kubernetes JSON schemas (SLUICE_K8S_NODE_MODULES, else .ci/tools/node_modules). A missing tool
/// fails the test with how to install it; nothing is skipped.
/// </summary>
internal static class ChartTools
{
    public const string InstallHint = "run .ci/helm-tools from the repository root (.ci/run does it before ./test.sh; it needs node, npm and unzip: apt-get install -y nodejs npm unzip)";

    public static readonly string Root = FindRoot();
    public static readonly string Chart = Path.Combine(Root, "deploy", "helm", "sluice");
    public static readonly string Validator = Path.Combine(Root, "deploy", "helm", "validate.mjs");

    private static readonly ConcurrentDictionary<string, Lazy<string>> Rendered = new();
    private static readonly Lazy<string> HelmHome = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-helm-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        return dir;
    });

    public static string Helm
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("SLUICE_HELM") is { Length: > 0 } env ? env : Path.Combine(Root, ".ci", "tools", "helm", "helm");
            Assert.True(File.Exists(path), $"helm not found at {path} (or set SLUICE_HELM): {InstallHint}");
            return path;
        }
    }

    public static string NodeModules
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("SLUICE_K8S_NODE_MODULES") is { Length: > 0 } env ? env : Path.Combine(Root, ".ci", "tools", "node_modules");
            Assert.True(Directory.Exists(Path.Combine(path, "kubernetes-models")) && Directory.Exists(Path.Combine(path, "yaml")),
                $"the npm packages kubernetes-models and yaml are not in {path} (or set SLUICE_K8S_NODE_MODULES): {InstallHint}");
            return path;
        }
    }

    /// <summary>A values file by its short name: default (the chart's values.yaml alone), gpu, external-redis.</summary>
    public static string[] ValuesArgs(string values) => values == "default" ? [] : ["-f", Path.Combine(Chart, "examples", $"{values}.yaml")];

    /// <summary>helm template for a values file, rendered once per test run.</summary>
    public static string Render(string values) => Rendered.GetOrAdd(values, v => new Lazy<string>(() =>
    {
        var (code, output) = RunHelm(["template", "sluice", Chart, "--namespace", "batch", .. ValuesArgs(v)]);
        Assert.True(code == 0, $"helm template with {v} values failed:\n{output}");
        return output;
    })).Value;

    public static (int Code, string Output) RunHelm(IEnumerable<string> args)
    {
        var home = HelmHome.Value;
        return Run(Helm, args, new Dictionary<string, string>
        {
            ["HELM_CACHE_HOME"] = Path.Combine(home, "cache"),
            ["HELM_CONFIG_HOME"] = Path.Combine(home, "config"),
            ["HELM_DATA_HOME"] = Path.Combine(home, "data"),
        });
    }

    public static (int Code, string Output) RunNode(IEnumerable<string> args)
    {
        try
        {
            return Run("node", args, new Dictionary<string, string>());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"node could not be started ({e.Message}): {InstallHint}");
            throw;
        }
    }

    private static (int Code, string Output) Run(string file, IEnumerable<string> args, Dictionary<string, string> env)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync();
        output.Append(process.StandardOutput.ReadToEnd());
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', start.ArgumentList)} did not finish within 60 s");
        }
        output.Append(stderr.Result);
        return (process.ExitCode, output.ToString());
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sluice.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Sluice.slnx above {AppContext.BaseDirectory}");
    }
}
