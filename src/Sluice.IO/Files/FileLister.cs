using System.IO.Enumeration;
using Sluice.Contracts;

namespace Sluice.IO.Files;

/// <summary>
/// Expands a source path (a file, a directory, or a glob with wildcards in the file-name part) into
/// the files it names, sorted ordinally so read task ids and their order are stable across runs.
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
        if (HasWildcard(Path.GetDirectoryName(path)))
            throw new BadInputException($"'{path}': wildcards are accepted only in the file-name part, not in directories");
        List<string> files;
        if (HasWildcard(Path.GetFileName(path)))
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
        string? listed = HasWildcard(Path.GetFileName(path)) ? Path.GetDirectoryName(path) is { Length: > 0 } d ? d : "."
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

    private static bool HasWildcard(string? part) => part is not null && part.AsSpan().IndexOfAny('*', '?') >= 0;

    private static bool IsHidden(string name) => name.StartsWith('.') || name.StartsWith('_');
}
