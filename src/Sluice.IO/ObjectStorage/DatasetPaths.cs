using System.Text.RegularExpressions;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// Dataset paths (<c>read.path</c>, <c>write.path</c>) are local: a URL there is refused by its scheme before anything
/// runs, never taken for a relative path (<c>s3://b/out</c> once became a local folder named <c>s3:</c>).
/// </summary>
public static partial class DatasetPaths
{
    /// <summary>Why <paramref name="path"/> cannot be a dataset path, or null when it is a local path.</summary>
    public static string? Reason(string? path)
    {
        if (path is null || SchemePrefix().Match(path) is not { Success: true } m) return null;
        var scheme = m.Groups[1].Value.ToLowerInvariant();
        return scheme is "s3" or "https" or "http"
            ? $"datasets are read and written on local paths only ({scheme}:// is accepted for job files such as a stage's model, not for data); copy the data to a local path"
            : $"'{scheme}://' is not supported (not a local path, and no object store of that kind is built in); give a local path";
    }

    /// <summary>Why <paramref name="path"/> cannot be the dataset path <paramref name="field"/>, in a sentence naming both, or null.</summary>
    public static string? Problem(string? path, string field) =>
        Reason(path) is { } reason ? $"{field} '{WithoutCredentials(path!)}': {reason}" : null;

    /// <summary>Throws <see cref="BadInputException"/> with <see cref="Problem"/>'s sentence when there is one.</summary>
    public static void RefuseUrl(string? path, string field)
    {
        if (Problem(path, field) is { } problem) throw new BadInputException(problem);
    }

    /// <summary>The path with any <c>user:password@</c> removed: a refused URL is echoed, its secret never is.</summary>
    public static string WithoutCredentials(string path) => Credentials().Replace(path, "://");

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9+.\-]*)://")]
    private static partial Regex SchemePrefix();

    [GeneratedRegex(@"://[^/@]*@")]
    private static partial Regex Credentials();
}
