namespace Sluice.Files;

/// <summary>
/// A path as the file system will resolve it: absolute, <c>.</c> and <c>..</c> removed, and every symbolic link among its
/// existing components followed (like realpath(3)); the components that do not exist yet are appended as written.
/// </summary>
internal static class RealPath
{
    /// <summary>Links followed before a path is taken as a loop (Linux's own limit is 40).</summary>
    private const int MaxLinks = 40;

    public static string Resolve(string path, string? baseDirectory = null)
    {
        var full = Path.GetFullPath(path, baseDirectory ?? Directory.GetCurrentDirectory());
        var links = 0;
        // Walk from the root one component at a time, so a link anywhere (not only the last component) is followed.
        var pending = new Queue<string>(Split(full));
        var current = Path.GetPathRoot(full)!;
        while (pending.Count > 0)
        {
            var next = Path.Combine(current, pending.Dequeue());
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is { } target)
            {
                if (++links > MaxLinks) throw new IOException($"too many symbolic links in {path}");
                var resolved = Path.GetFullPath(target, current);
                var rest = pending.ToArray();
                pending = new Queue<string>([.. Split(resolved), .. rest]);
                current = Path.GetPathRoot(resolved)!;
                continue;
            }
            current = next;
        }
        return Path.TrimEndingDirectorySeparator(current);
    }

    private static string[] Split(string full) =>
        full[Path.GetPathRoot(full)!.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
}
