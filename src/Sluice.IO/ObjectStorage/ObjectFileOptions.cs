namespace Sluice.IO.ObjectStorage;

/// <summary>
/// Where fetched objects are cached and which S3 endpoint answers <c>s3://</c> URLs. Every default is read from the
/// environment here, once: <c>XDG_CACHE_HOME</c> (else <c>~/.cache</c>), <c>AWS_ENDPOINT_URL_S3</c> (else
/// <c>AWS_ENDPOINT_URL</c>) and <c>AWS_REGION</c>. Credentials are not options: the AWS SDK's default chain reads
/// them (<c>AWS_ACCESS_KEY_ID</c> / <c>AWS_SECRET_ACCESS_KEY</c>, profiles), so they are never written into a spec or a URL.
/// </summary>
public sealed record ObjectFileOptions
{
    /// <summary>The cache: <c>DIR/&lt;SHA-256 of the URL&gt;/&lt;the URL's file name&gt;</c>. Default <c>$XDG_CACHE_HOME/sluice/objects</c>.</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    /// <summary>
    /// An S3-compatible server to ask instead of AWS (MinIO, s3rver), addressed path-style (<c>ENDPOINT/bucket/key</c>).
    /// Default <c>AWS_ENDPOINT_URL_S3</c>, else <c>AWS_ENDPOINT_URL</c>; null = AWS itself.
    /// </summary>
    public Uri? S3Endpoint { get; init; } = DefaultEndpoint();

    /// <summary>The S3 region. Default <c>AWS_REGION</c>, else <c>us-east-1</c>.</summary>
    public string Region { get; init; } = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } r ? r : "us-east-1";

    private static string DefaultCacheDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = xdg is { Length: > 0 } ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "sluice", "objects");
    }

    private static Uri? DefaultEndpoint()
    {
        var text = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3") is { Length: > 0 } s ? s : Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL");
        return text is { Length: > 0 } && Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : null;
    }
}
