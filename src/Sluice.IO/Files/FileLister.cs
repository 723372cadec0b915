using System.IO.Enumeration;
using Sluice.Contracts;

namespace Sluice.IO.Files;

/// <summary>
/// Expands a source path (a file, a directory, or a glob with wildcards in the file-name part) into
/// the files it names, sorted ordinally so read task ids and their order are stable across runs.
/// A <c>**</c> directory just before the file name (<c>photos/**/*.jpg</c>, or <c>photos/**</c> for every file)
/// matches that directory and all below it, as bash's globstar does; hidden names ('.', '_') are skipped at
/// every level, and directory links are not followed (a link to a parent would never end).
/// </summary>
internal static class FileLister
{
    /// <param name="compressed">Whether <c>.gz</c>/<c>.zst</c> files are read (decompressed); false refuses them by name.</param>
    public static IReadOnlyList<string> Expand(string path, string expected, bool compressed = true)
    {
        if (ObjectStorage.DatasetPaths.IsUrl(path))
        {
            throw new BadInputException(ObjectStorage.DatasetPaths.ReadReason(path) is { } reason
                ? $"read.path '{ObjectStorage.DatasetPaths.WithoutCredentials(path)}': {reason}"
                : $"read.path '{ObjectStorage.DatasetPaths.WithoutCredentials(path)}' is a URL: read it with Sources.Remote (a job spec's read.path does so by itself)");
        }
        if (string.IsNullOrWhiteSpace(path))
            throw new BadInputException($"the input path is empty; give a {expected} file, a directory or a glob such as 'data/*.ext'");
        var recursive = RecursiveGlob(path);
        if (recursive is null && HasWildcard(Path.GetDirectoryName(path)) || recursive is { } r && HasWildcard(r.Root))
            throw new BadInputException($"'{path}': wildcards are accepted only in the file-name part, and '{Recursive}' only as the last directory ('photos/{Recursive}/*.jpg'), not elsewhere in directories");
        if (Path.GetFileName(path).Contains(Recursive, StringComparison.Ordinal) && recursive is null)
            throw new BadInputException($"'{path}': '{Recursive}' is a whole directory name ('photos/{Recursive}/*.jpg'), not part of a file-name pattern");
        List<string> files;
        if (recursive is { } glob)
            files = RecursiveFiles(path, glob.Root, glob.Pattern);
        else if (HasWildcard(Path.GetFileName(path)))
            files = Glob(path);
        else if (Directory.Exists(path))
        {
            // Names starting with '_' or '.' are metadata (_SUCCESS, _manifest.jsonl, .tmp), as in Spark and Hadoop.
            files = Directory.EnumerateFiles(path).Where(f => !IsHidden(Path.GetFileName(f))).ToList();
            if (files.Count == 0)
                throw new BadInputException($"directory '{path}' holds no files; expected {expected} files in it");
        }
        else if (File.Exists(path))
            files = [path];
        else
            throw new BadInputException($"file '{path}' does not exist; expected a {expected} file, a directory or a glob — check the path");

        files.Sort(StringComparer.Ordinal);
        foreach (var file in files)
        {
            EnsureReadable(file, expected);
            InputCompression.Check(file, expected, compressed);
        }
        return files;
    }

    /// <summary>
    /// The inputs behind <paramref name="path"/> as <see cref="Expand"/> listed them: each file's full
    /// path, size and modification time, and the directory that was listed (none for a single file).
    /// </summary>
    public static DatasourceInputs Describe(string path, IReadOnlyList<string> files)
    {
        var inputs = files.Select(f => new FileInfo(f)).Select(i => new InputFile(i.FullName, i.Length, i.LastWriteTimeUtc)).ToList();
        string? listed = RecursiveGlob(path) is { } recursive ? recursive.Root
            : HasWildcard(Path.GetFileName(path)) ? Path.GetDirectoryName(path) is { Length: > 0 } d ? d : "."
            : Directory.Exists(path) ? path : null;
        return new DatasourceInputs(inputs, listed is null ? [] : [Path.TrimEndingDirectorySeparator(Path.GetFullPath(listed))]);
    }

    private static List<string> Glob(string path)
    {
        var pattern = Path.GetFileName(path);
        var dir = Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(dir)) dir = ".";
        var files = Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir)
                .Where(f => FileSystemName.MatchesSimpleExpression(pattern, Path.GetFileName(f), ignoreCase: false))
                // A glob over an output ('out/*') must not read its metadata (_manifest.jsonl, _SUCCESS,
                // the lock) as data; a pattern that itself starts with '_' or '.' asks for such names.
                .Where(f => IsHidden(pattern) || !IsHidden(Path.GetFileName(f)))
                .Select(f => Path.GetDirectoryName(path) is { Length: > 0 } ? f : Path.GetFileName(f))
                .ToList()
            : [];
        if (files.Count == 0)
            throw new BadInputException($"no files match '{path}'; check the path or the glob");
        return files;
    }

    /// <summary>The directory and file-name pattern of <c>root/**/pattern</c> or <c>root/**</c>; null for any other path.</summary>
    private static (string Root, string Pattern)? RecursiveGlob(string path)
    {
        var name = Path.GetFileName(path);
        var dir = Path.GetDirectoryName(path);
        if (name == Recursive) return (string.IsNullOrEmpty(dir) ? "." : dir, "*");
        if (dir is null || Path.GetFileName(dir) != Recursive) return null;
        var root = Path.GetDirectoryName(dir);
        return (string.IsNullOrEmpty(root) ? "." : root, name);
    }

    private static List<string> RecursiveFiles(string path, string root, string pattern)
    {
        if (!Directory.Exists(root))
            throw new BadInputException($"no files match '{path}': directory '{root}' does not exist; check the path");
        var files = new List<string>();
        // A relative root is listed as given, so the paths keep the user's spelling ('photos/a/b.jpg', not an absolute one).
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            files.AddRange(Directory.EnumerateFiles(dir)
                .Where(f => FileSystemName.MatchesSimpleExpression(pattern, Path.GetFileName(f), ignoreCase: false))
                .Where(f => IsHidden(pattern) || !IsHidden(Path.GetFileName(f)))
                .Select(f => root == "." && !path.StartsWith("./", StringComparison.Ordinal) ? Path.GetRelativePath(".", f) : f));
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                if (IsHidden(Path.GetFileName(sub)) || new DirectoryInfo(sub).LinkTarget is not null) continue;
                pending.Push(sub);
            }
        }
        if (files.Count == 0)
            throw new BadInputException($"no files match '{path}' in '{root}' or the directories below it; check the path or the glob");
        return files;
    }

    private static void EnsureReadable(string file, string expected)
    {
        try
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"cannot read '{file}' ({e.Message}); expected a readable {expected} file", e);
        }
    }

    private const string Recursive = "**";

    private static bool HasWildcard(string? part) => part is not null && part.AsSpan().IndexOfAny('*', '?') >= 0;

    private static bool IsHidden(string name) => name.StartsWith('.') || name.StartsWith('_');
}
