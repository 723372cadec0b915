namespace Sluice.Cli.Tests;

/// <summary>The repository the tests run from: the first directory above the test binaries that holds Sluice.slnx.</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    public static string File(string relative) => Path.Combine(Root, relative);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Sluice.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Sluice.slnx not found above " + AppContext.BaseDirectory);
    }
}
