using System.Text.Json;

namespace Sluice.Packaging.Tests;

/// <summary>
/// `dotnet pack` makes `sluice` a .NET tool: installed from a local folder feed into a temp tool path (offline), it
/// prints its version and runs a job.
/// </summary>
public sealed class ToolPackageTests(PackedFeed feed) : IClassFixture<PackedFeed>
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void Pack_MakesTheToolAndTheLibraries_WithTheSharedMetadata()
    {
        foreach (var id in new[] { "sluice", "Sluice.Core", "Sluice.Execution", "Sluice.IO", "Sluice.Inference", "Sluice.Kubernetes" })
        {
            var package = Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg");
            Assert.True(File.Exists(package), $"no {package}; the feed has {string.Join(", ", Directory.GetFiles(feed.Feed).Select(Path.GetFileName))}");
            using var zip = System.IO.Compression.ZipFile.OpenRead(package);
            var nuspecEntry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            using var stream = nuspecEntry.Open();
            var nuspec = System.Xml.Linq.XDocument.Load(stream);
            string? Field(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("Sluice contributors", Field("authors"));
            Assert.Equal("README.md", Field("readme"));
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
        }
        using var tool = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed.Feed, $"sluice.{feed.Version}.nupkg"));
        Assert.Contains(tool.Entries, e => e.FullName.EndsWith("/any/DotnetToolSettings.xml", StringComparison.Ordinal));
        Assert.Contains(tool.Entries, e => e.FullName.EndsWith("/any/sluice.dll", StringComparison.Ordinal));
        // Native libraries for Linux only (Sluice.Cli.csproj, SluiceNativeRuntimes).
        Assert.Contains(tool.Entries, e => e.FullName.EndsWith("/any/runtimes/linux-x64/native/libonnxruntime.so", StringComparison.Ordinal));
        Assert.DoesNotContain(tool.Entries, e => e.FullName.Contains("/runtimes/win-x64/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InstalledTool_PrintsItsVersion_AndRunsAJob()
    {
        using var dir = new TempDir("sluice-tool-");
        var sluice = await InstallAsync(dir);

        var version = (await Tool.RunAsync(sluice, ["--version"], dir.Path, Minute)).Ok("sluice --version");
        Assert.StartsWith(feed.Version, version.Output.Trim(), StringComparison.Ordinal);

        File.WriteAllText(dir["job.yaml"], """
            name: tool-smoke
            read: { format: range, count: 100, block_rows: 25 }
            stages:
              - { name: sim, op: simulate, per_row_ms: 0.1, batch_size: 25, resources: { gpus: 1 } }
            write: { format: jsonl, path: out }
            execution: { sim_gpus: 1 }
            """);
        var run = (await Tool.RunAsync(sluice, ["run", "job.yaml", "--quiet"], dir.Path, 2 * Minute)).Ok("sluice run");

        Assert.True(File.Exists(dir["out/_SUCCESS"]), "no out/_SUCCESS:\n" + run.Output);
        var ids = Directory.GetFiles(dir["out"], "part-*.jsonl")
            .SelectMany(File.ReadLines)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("id").GetInt64())
            .Order()
            .ToList();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), ids);
    }

    /// <summary>
    /// The README's library snippet, as the README writes it, in a project of its own that references the packages
    /// (Sluice.IO, Sluice.Inference, Sluice.Execution) from the feed: it compiles and embeds rows the installed tool wrote.
    /// </summary>
    [Fact]
    public async Task ReadmeLibrarySnippet_BuildsAndRunsAgainstThePackages()
    {
        using var dir = new TempDir("sluice-snippet-");
        var sluice = await InstallAsync(dir);
        // Its inputs, made with the tool: the MiniLM model and vocabulary, and 40 lines of text as Parquet in data/.
        (await Tool.RunAsync(sluice, ["models", "export", "minilm", "--out", "models/minilm"], dir.Path, Minute)).Ok("sluice models export");
        File.WriteAllLines(dir["lines.txt"], Enumerable.Range(0, 40).Select(i => $"line {i}: the quick brown fox jumps over the lazy dog"));
        File.WriteAllText(dir["to-parquet.yaml"], """
            name: to-parquet
            read: { format: text, path: lines.txt }
            stages: []
            write: { format: parquet, path: data }
            """);
        (await Tool.RunAsync(sluice, ["run", "to-parquet.yaml", "--quiet"], dir.Path, Minute)).Ok("sluice run to-parquet.yaml");

        var app = Directory.CreateDirectory(dir["app"]).FullName;
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <NoWarn>$(NoWarn);NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Sluice.IO" Version="{feed.Version}" />
                <PackageReference Include="Sluice.Inference" Version="{feed.Version}" />
                <PackageReference Include="Sluice.Execution" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), ReadmeSnippet() + "\nConsole.WriteLine(\"snippet done\");\n");
        // Our packages restore into a packages folder of this test's own; the rest comes from the machine's, read only.
        string[] restore = [$"-p:RestorePackagesPath={dir["packages"]}", $"-p:RestoreFallbackFolders={PackedFeed.GlobalPackages}"];
        (await Tool.DotnetAsync(app, 3 * Minute, ["restore", "--configfile", feed.NuGetConfig, .. restore])).Ok("dotnet restore (snippet)");
        (await Tool.DotnetAsync(app, 3 * Minute, ["build", "--no-restore", "-c", "Release", "-o", dir["app-bin"], .. restore])).Ok("dotnet build (snippet)");

        var run = (await Tool.RunAsync("dotnet", [dir["app-bin/app.dll"]], dir.Path, 2 * Minute)).Ok("the snippet");

        Assert.Contains("snippet done", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir["out/embeddings/_SUCCESS"]), "no out/embeddings/_SUCCESS:\n" + run.Output);
        Assert.NotEmpty(Directory.GetFiles(dir["out/embeddings"], "part-*.parquet"));
    }

    /// <summary>The README's csharp block under "## The library".</summary>
    private static string ReadmeSnippet()
    {
        var readme = File.ReadAllText(Repo.File("README.md"));
        var section = readme[readme.IndexOf("## The library", StringComparison.Ordinal)..];
        var start = section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        return section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
    }

    private async Task<string> InstallAsync(TempDir dir)
    {
        var toolPath = dir["tools"];
        (await Tool.DotnetAsync(dir.Path, 2 * Minute, "tool", "install", "sluice", "--tool-path", toolPath,
            "--version", feed.Version, "--configfile", feed.NuGetConfig)).Ok("dotnet tool install");
        var sluice = Path.Combine(toolPath, "sluice");
        Assert.True(File.Exists(sluice), $"the tool path has no {sluice}");
        return sluice;
    }
}
