namespace Sluice.Packaging.Tests;

/// <summary>
/// The output deploy/docker/Dockerfile.cpu and Dockerfile.cuda copy (dotnet publish src/Sluice.Cli into out/ of the build
/// context), published into a temp context once per class from the build output.
/// </summary>
public sealed class PublishedContext : IAsyncLifetime
{
    private readonly TempDir _dir = new("sluice-docker-");

    /// <summary>A build context like deploy/docker after the documented publish: out/ holds the CLI.</summary>
    public string Context => _dir.Path;

    public async Task InitializeAsync()
    {
        using var _ = await BuildOutput.LockAsync();
        (await Tool.DotnetAsync(Repo.Root, TimeSpan.FromMinutes(3),
            ["publish", "src/Sluice.Cli/Sluice.Cli.csproj", "-c", Repo.Configuration, "--no-build",
             .. BuildOutput.Isolated(_dir["scratch"], _dir["out"])]))
            .Ok("dotnet publish src/Sluice.Cli");
    }

    public Task DisposeAsync()
    {
        BuildOutput.ForgetPublishRecords(_dir.Path, ["Sluice.Cli"]);
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The Dockerfiles cannot be built here (no container runtime, no base images): what can run is checked instead. The
/// output they copy exists and runs, and they pass the lint of the rules we hold them to (DockerfileLint), which in turn
/// fails a file breaking each rule.
/// </summary>
public sealed class DockerfileTests(PublishedContext published) : IClassFixture<PublishedContext>
{
    public static TheoryData<string> Dockerfiles => new() { "Dockerfile.cpu", "Dockerfile.cuda" };

    [Fact]
    public async Task PublishedOutput_TheImagesCopy_Runs()
    {
        var dll = Path.Combine(published.Context, "out", "sluice.dll");
        Assert.True(File.Exists(dll), $"no {dll}");
        // The Linux native libraries the images need are in it; other platforms' are not (SluiceNativeRuntimes).
        Assert.True(File.Exists(Path.Combine(published.Context, "out/runtimes/linux-x64/native/libonnxruntime.so")));
        Assert.False(Directory.Exists(Path.Combine(published.Context, "out/runtimes/win-x64")));

        var version = (await Tool.RunAsync("dotnet", [dll, "--version"], published.Context, TimeSpan.FromMinutes(1))).Ok("dotnet out/sluice.dll --version");
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Output.Trim());
        var ops = (await Tool.RunAsync("dotnet", [dll, "ops"], published.Context, TimeSpan.FromMinutes(1))).Ok("dotnet out/sluice.dll ops");
        Assert.Contains("simulate", ops.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_PassesTheLint(string name)
    {
        var text = File.ReadAllText(Repo.File($"deploy/docker/{name}"));

        Assert.Empty(DockerfileLint.Check(text, published.Context));
        var instructions = DockerfileLint.Parse(text);
        Assert.Contains(instructions, i => i.Keyword == "ENTRYPOINT" && i.Arguments == """["dotnet", "/app/sluice.dll"]""");
        Assert.Contains(instructions, i => i.Keyword == "HEALTHCHECK" && i.Arguments.Contains("/tmp/sluice-ready", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Dockerfile_CopiesOnlyWhatIsInTheContext_NotTheRepository(string name)
    {
        // Linted against the repository's own deploy/docker before publishing, out/ is missing: the rule sees it.
        using var empty = new TempDir("sluice-context-");
        var problems = DockerfileLint.Check(File.ReadAllText(Repo.File($"deploy/docker/{name}")), empty.Path);

        Assert.Contains("COPY out/: not in the build context", Assert.Single(problems), StringComparison.Ordinal);
    }

    private const string Good = """
        FROM mcr.microsoft.com/dotnet/runtime:10.0.12-noble
        WORKDIR /app
        COPY out/ /app/
        USER app
        ENV DOTNET_gcServer=1
        HEALTHCHECK CMD ["test", "-f", "/tmp/sluice-ready"]
        ENTRYPOINT ["dotnet", "/app/sluice.dll"]
        """;

    [Fact]
    public void Lint_PassesAGoodFile() => Assert.Empty(DockerfileLint.Check(Good, published.Context));

    [Theory]
    [InlineData("FROM mcr.microsoft.com/dotnet/runtime:10.0.12-noble", "FROM mcr.microsoft.com/dotnet/runtime:latest", "pin the base image")]
    [InlineData("FROM mcr.microsoft.com/dotnet/runtime:10.0.12-noble", "FROM mcr.microsoft.com/dotnet/runtime", "pin the base image")]
    [InlineData("FROM mcr.microsoft.com/dotnet/runtime:10.0.12-noble", "FROM localhost:5000/dotnet-runtime", "pin the base image")]
    [InlineData("USER app", "", "ENTRYPOINT runs as root")]
    [InlineData("USER app", "USER root", "ENTRYPOINT runs as root")]
    [InlineData("USER app", "USER 0:0", "ENTRYPOINT runs as root")]
    [InlineData("ENTRYPOINT [\"dotnet\", \"/app/sluice.dll\"]", "CMD [\"dotnet\", \"/app/sluice.dll\"]", "no ENTRYPOINT")]
    [InlineData("HEALTHCHECK CMD [\"test\", \"-f\", \"/tmp/sluice-ready\"]", "", "no HEALTHCHECK")]
    [InlineData("HEALTHCHECK CMD [\"test\", \"-f\", \"/tmp/sluice-ready\"]", "HEALTHCHECK NONE", "no HEALTHCHECK")]
    [InlineData("ENV DOTNET_gcServer=1", "ENV REDIS_PASSWORD=hunter2", "ENV REDIS_PASSWORD bakes a secret")]
    [InlineData("ENV DOTNET_gcServer=1", "ENV A=1 \\\n    Api_Token=\"abc\"", "ENV Api_Token bakes a secret")]
    [InlineData("ENV DOTNET_gcServer=1", "ENV CLUSTER_SECRET s3cr3t value", "ENV CLUSTER_SECRET bakes a secret")]
    [InlineData("ENV DOTNET_gcServer=1", "ARG GITHUB_TOKEN=ghp_x", "ARG GITHUB_TOKEN bakes a secret")]
    [InlineData("COPY out/ /app/", "COPY missing.dll /app/", "COPY missing.dll: not in the build context")]
    [InlineData("COPY out/ /app/", "COPY [\"out/\", \"nope/\", \"/app/\"]", "COPY nope/: not in the build context")]
    public void Lint_FailsAFileBreakingEachRule(string line, string replacement, string expected)
    {
        Assert.Contains(line, Good, StringComparison.Ordinal);
        var bad = Good.Replace(line, replacement, StringComparison.Ordinal);

        var problems = DockerfileLint.Check(bad, published.Context);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ARG REDIS_PASSWORD")]                                  // declared, given at build time: nothing baked
    [InlineData("COPY --from=build /src/out /app/")]                    // from a stage, not the context
    [InlineData("USER app\nUSER 1654")]
    public void Lint_AllowsWhatIsNotARuleBreak(string extra)
    {
        var file = Good.Replace("ENV DOTNET_gcServer=1", "ENV DOTNET_gcServer=1\n" + extra, StringComparison.Ordinal)
            .Replace("FROM mcr", "FROM mcr.microsoft.com/dotnet/sdk:10.0.100 AS build\nFROM mcr", StringComparison.Ordinal);

        Assert.Empty(DockerfileLint.Check(file, published.Context));
    }

    [Fact]
    public void Lint_ARootUserAfterTheEntrypoint_Fails()
    {
        var problems = DockerfileLint.Check(Good + "\nUSER root", published.Context);

        Assert.Contains(problems, p => p.Contains("the container would run as root", StringComparison.Ordinal));
    }
}
