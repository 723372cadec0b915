using System.Text.RegularExpressions;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// Which URLs a dataset path may be. Reads take local paths, <c>s3://</c> and <c>https://</c> (<see cref="RemoteDatasource"/>);
/// writes take local paths and <c>s3://</c> (<see cref="S3OutputStore"/>). Any other URL is refused by its scheme before anything runs, never taken for a relative
/// path (<c>s3://b/out</c> once became a local folder named <c>s3:</c>).
/// </summary>
public static partial class DatasetPaths
{
    /// <summary>Whether <paramref name="path"/> is written as a URL (<c>scheme://…</c>).</summary>
    public static bool IsUrl(string? path) => path is not null && SchemePrefix().IsMatch(path);

    /// <summary>Why <paramref name="path"/> cannot be read as a dataset, or null when it can (a local path, s3:// or https://).</summary>
    public static string? ReadReason(string? path) => Scheme(path) switch
    {
        "s3" or "https" or "http" when Credentials().IsMatch(path!) => CredentialsReason,
        null or "s3" or "https" or "http" => null,
        var scheme => $"'{scheme}://' is not supported (no object store of that kind is built in); give a local path, s3://bucket/prefix or an https:// URL",
    };

    /// <summary>Why <paramref name="path"/> cannot be written as a dataset, or null when it can (a local path or s3://).</summary>
    public static string? Reason(string? path) => Scheme(path) switch
    {
        "s3" when Credentials().IsMatch(path!) => CredentialsReason,
        null or "s3" => null,
        "https" or "http" => "https:// URLs are read-only; give a local path or s3://bucket/prefix",
        var scheme => $"'{scheme}://' is not supported (not a local path, and no object store of that kind is built in); give a local path or s3://bucket/prefix",
    };

    private const string CredentialsReason =
        "a URL must not carry credentials (user:password@); give them in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";

    /// <summary>Why <paramref name="path"/> cannot be the output path <paramref name="field"/>, in a sentence naming both, or null.</summary>
    public static string? Problem(string? path, string field) =>
        Reason(path) is { } reason ? $"{field} '{WithoutCredentials(path!)}': {reason}" : null;

    /// <summary>Throws <see cref="BadInputException"/> with <see cref="Problem"/>'s sentence when there is one.</summary>
    public static void RefuseUrl(string? path, string field)
    {
        if (Problem(path, field) is { } problem) throw new BadInputException(problem);
    }

    /// <summary>The path with any <c>user:password@</c> removed: a refused URL is echoed, its secret never is.</summary>
    public static string WithoutCredentials(string path) => Credentials().Replace(path, "://");

    private static string? Scheme(string? path) =>
        path is not null && SchemePrefix().Match(path) is { Success: true } m ? m.Groups[1].Value.ToLowerInvariant() : null;

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9+.\-]*)://")]
    private static partial Regex SchemePrefix();

    [GeneratedRegex(@"://[^/@]*@")]
    private static partial Regex Credentials();
}
