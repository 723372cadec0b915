using Sluice.Files;
using Sluice.IO.ObjectStorage;

namespace Sluice.Service.Roots;

/// <summary>
/// The directories a submitted job may read and write under. A path is checked as the file system will resolve it
/// (<see cref="RealPath"/>: <c>..</c> removed, symbolic links followed), so neither <c>../</c> nor a link leads out.
/// Relative paths are relative to the service's working directory, as the engine opens them.
/// </summary>
internal sealed class RootPolicy
{
    /// <param name="roots">Where jobs may read and write.</param>
    /// <param name="excluded">Directories under a root that jobs may not touch (the service's own state).</param>
    public RootPolicy(IEnumerable<string> roots, IEnumerable<string>? excluded = null)
    {
        Roots = [.. roots.Select(r => RealPath.Resolve(r))];
        _excluded = [.. (excluded ?? []).Select(r => RealPath.Resolve(r))];
    }

    private readonly string[] _excluded;

    /// <summary>The roots, resolved.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>What a refused path is told would be accepted.</summary>
    public string Accepted => $"give a path under one of the service's roots: {string.Join(", ", Roots)}";

    /// <summary>Whether <paramref name="path"/> (a file, a directory or a glob) stays under a root.</summary>
    public bool Allows(string path) => Resolve(path) is { } resolved && Allowed(resolved);

    /// <summary>Where <paramref name="path"/> (or a glob's directories) leads; null for a URL or a path that cannot be resolved.</summary>
    public static string? Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || IsUrl(path)) return null;
        try
        {
            return RealPath.Resolve(LiteralPrefix(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    public static bool IsUrl(string path) => ObjectFiles.IsUrl(path) || path.Contains("://", StringComparison.Ordinal);

    private bool Allowed(string resolved)
    {
        return Roots.Any(root => Under(resolved, root)) && !_excluded.Any(dir => Under(resolved, dir) || Under(dir, resolved));
    }

    private static bool Under(string path, string dir) =>
        path == dir || path.StartsWith(dir.EndsWith(Path.DirectorySeparatorChar) ? dir : dir + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// A glob's directories up to its first wildcard (what it can match lies under them), after <c>..</c> is removed
    /// from the whole pattern: <c>data/*/../../x</c> is <c>x</c>, wherever the wildcard would have matched.
    /// </summary>
    internal static string LiteralPrefix(string path)
    {
        var full = Path.GetFullPath(path);
        var wildcard = full.IndexOfAny(['*', '?', '[', '{']);
        if (wildcard < 0) return full;
        var slash = full.LastIndexOf(Path.DirectorySeparatorChar, wildcard);
        return slash <= 0 ? Path.GetPathRoot(full)! : full[..slash];
    }
}
