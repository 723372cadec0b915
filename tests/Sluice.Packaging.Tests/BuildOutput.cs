namespace Sluice.Packaging.Tests;

internal static class BuildOutput
{
    /// <summary>
    /// Properties that send what publish (and packing a tool) would write into obj/ to <paramref name="scratch"/>
    /// instead: the publish folder, its deps file and the caches of both, the tool's settings file.
    /// </summary>
    public static string[] Isolated(string scratch, string publishDir) =>
    [
        $"-p:PublishDir={publishDir.TrimEnd('/')}/",
        $"-p:PublishDepsFilePath={Path.Combine(publishDir, "sluice.deps.json")}",
        $"-p:_GeneratePublishDependencyFilePropertyInputsCache={Path.Combine(scratch, "genpublishdeps.cache")}",
        $"-p:_ToolsSettingsFilePath={Path.Combine(scratch, "DotnetToolSettings.xml")}",
        $"-p:_GenerateToolsSettingsFileCacheFile={Path.Combine(scratch, "toolssettingsinput.cache")}",
        $"-p:NuspecOutputPath={scratch.TrimEnd('/')}/",
    ];

    /// <summary>
    /// Held while packing or publishing from the repository's build output. Publish keeps a few files in obj/ (the
    /// publish deps file and its cache, the same bytes for the same build): two runs of these tests at once, or this
    /// class's two fixtures, write them one at a time. An OS lock on a file in the temp directory, named after the
    /// repository, released when the process ends whatever happens.
    /// </summary>
    public static async Task<IDisposable> LockAsync()
    {
        var name = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Repo.Root)))[..16];
        var path = Path.Combine(Path.GetTempPath(), $"sluice-packaging-{name}.lock");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// Publish (dotnet publish, and packing a tool) records the files it wrote in obj/PublishOutputs.HASH.txt, HASH from the
    /// publish folder: each run's fresh temp folder would leave one more file in the repository's obj/. Those naming a
    /// folder under <paramref name="root"/> (this run's) are deleted; other runs' are theirs to delete.
    /// </summary>
    public static void ForgetPublishRecords(string root, IEnumerable<string> projects)
    {
        foreach (var project in projects)
        {
            var obj = Repo.File($"src/{project}/obj/{Repo.Configuration}/net10.0");
            if (!Directory.Exists(obj)) continue;
            foreach (var record in Directory.GetFiles(obj, "PublishOutputs.*.txt"))
                if (File.ReadLines(record).Any(line => line.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
                    File.Delete(record);
        }
    }
}
