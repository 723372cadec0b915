namespace Sluice.Packaging.Tests;

/// <summary>The repository the tests run from: the first directory above the test binaries that holds Sluice.slnx.</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    public static string File(string relative) => Path.Combine(Root, relative);

    /// <summary>The configuration these tests were built in; the product was built in the same one (dotnet test).</summary>
    public static string Configuration { get; } =
        typeof(Repo).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().Single().Configuration;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Sluice.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Sluice.slnx not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A directory under the system temp directory, deleted with everything in it.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "sluice-pack-") =>
        Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..8]));

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
