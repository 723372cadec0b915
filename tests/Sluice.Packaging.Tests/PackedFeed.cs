using System.Xml.Linq;

namespace Sluice.Packaging.Tests;

/// <summary>
/// A local folder feed with the packages `dotnet pack` makes: the tool `sluice` and the libraries. Packed once per test
/// class from the build output the tests already depend on (--no-build), so packing never rebuilds a project another test
/// project is using. Everything pack writes goes to a temp directory of its own (publish folder, nuspecs, the record of
/// published files), so runs in parallel do not share a file and nothing is left in the repository.
/// </summary>
public sealed class PackedFeed : IAsyncLifetime
{
    /// <summary>The libraries the README's library snippet uses, the autoscaler's Kubernetes provider, and the tool.</summary>
    public static readonly string[] Projects = ["Sluice.Core", "Sluice.Execution", "Sluice.IO", "Sluice.Inference", "Sluice.Kubernetes", "Sluice.Cli"];

    private readonly TempDir _dir = new();

    public string Root => _dir.Path;

    public string Feed => _dir["feed"];

    /// <summary>The version the packages were made with (Directory.Build.props).</summary>
    public string Version { get; private set; } = "";

    /// <summary>NuGet settings with no source but this feed and the machine's own package folder: works offline.</summary>
    public string NuGetConfig => _dir["nuget.config"];

    public static string GlobalPackages { get; } =
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        using var _ = await BuildOutput.LockAsync();
        foreach (var project in Projects)
        {
            (await Tool.DotnetAsync(Repo.Root, TimeSpan.FromMinutes(3),
                ["pack", $"src/{project}/{project}.csproj", "-c", Repo.Configuration, "--no-build", "-o", Feed,
                 .. BuildOutput.Isolated(_dir[$"scratch/{project}"], _dir[$"publish/{project}"])]))
                .Ok($"dotnet pack {project}");
        }
        BuildOutput.ForgetPublishRecords(Root, Projects);
        var tool = Directory.GetFiles(Feed, "sluice.*.nupkg").Single();
        Version = Path.GetFileNameWithoutExtension(tool)["sluice.".Length..];
        new XDocument(new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "sluice-local"), new XAttribute("value", Feed)),
                // The machine's package folder is a folder feed too: the libraries' dependencies restore from it offline.
                new XElement("add", new XAttribute("key", "machine-cache"), new XAttribute("value", GlobalPackages))))).Save(NuGetConfig);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
