using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// Files named by URL (<c>s3://bucket/key</c>, <c>https://host/path</c>; <c>http://</c> only to this machine), fetched
/// once into a local cache: <c>CACHE/&lt;SHA-256 of the URL&gt;/&lt;file name&gt;</c>, with a sidecar that records the
/// size and ETag of the version held. A fetch asks the server (HEAD) every time and reuses the copy only while both
/// still match; when the server cannot be asked, it fails rather than trust a copy that may be stale — outputs must
/// never be silently made from an old model.
/// </summary>
public static partial class ObjectFiles
{
    /// <summary>Whether <paramref name="value"/> is written as a URL (<c>scheme://…</c>) rather than a path.</summary>
    public static bool IsUrl(string? value) => value is not null && UrlScheme().IsMatch(value);

    /// <summary>
    /// <paramref name="value"/> as a URL this class may fetch.
    /// </summary>
    /// <exception cref="ObjectFileException">Not a URL, another scheme, credentials in the URL, or plain http to another machine.</exception>
    public static Uri Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || !IsUrl(value))
            throw new ObjectFileException($"'{value}' is not a URL; give s3://bucket/key or https://host/path");
        if (url.UserInfo.Length > 0)
            throw new ObjectFileException($"{url.Scheme}://{url.Host}{url.AbsolutePath}: a URL must not carry credentials (user:password@); "
                + "give them in the environment instead (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3://)");
        switch (url.Scheme)
        {
            case "s3":
                if (url.Host.Length == 0 || url.AbsolutePath.Trim('/').Length == 0 || url.AbsolutePath.EndsWith('/'))
                    throw new ObjectFileException($"{Display(url)}: give s3://bucket/key, the key of one object (not a folder)");
                return url;
            case "https":
                return url;
            case "http" when IsLoopback(url):
                return url;
            case "http":
                throw new ObjectFileException($"{Display(url)}: plain http is accepted only from this machine (localhost); "
                    + "nothing read over the network is trusted unencrypted, give https://");
            default:
                throw new ObjectFileException($"{Display(url)}: '{url.Scheme}://' is not supported; give s3://bucket/key or https://host/path");
        }
    }

    /// <summary>
    /// Asks the server for the object's size and tag without fetching it, and whether the cache holds that version
    /// (what <c>explain</c> reports: it downloads nothing).
    /// </summary>
    public static async Task<ObjectInfo> HeadAsync(Uri url, ObjectFileOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(options);
        url = Parse(url.OriginalString);
        using var store = Store(url, options);
        var remote = await store.HeadAsync(url, cancellationToken).ConfigureAwait(false);
        var entry = new CacheEntry(options.CacheDirectory, url);
        return new ObjectInfo(url, remote.Length ?? -1, remote.ETag, entry.Holds(remote) ? entry.File : null);
    }

    /// <summary>
    /// The local path of the object at <paramref name="url"/>: the cached copy when the server says it is still this
    /// version, else a fresh download (to a temp file beside it, renamed into place when complete).
    /// </summary>
    /// <exception cref="ObjectFileException">The URL is refused, the object does not exist, access is denied, or the server cannot be reached.</exception>
    public static async Task<string> FetchAsync(Uri url, ObjectFileOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(options);
        url = Parse(url.OriginalString);
        using var store = Store(url, options);
        var entry = new CacheEntry(options.CacheDirectory, url);
        var remote = await store.HeadAsync(url, cancellationToken).ConfigureAwait(false);
        if (entry.Holds(remote)) return entry.File;
        await entry.DownloadAsync(store, url, cancellationToken).ConfigureAwait(false);
        return entry.File;
    }

    /// <summary>The URL as errors show it: without a query (a pre-signed URL's signature is a credential).</summary>
    internal static string Display(Uri url) => url.Query.Length > 0 ? url.GetLeftPart(UriPartial.Path) + "?…" : url.ToString();

    private static IObjectStore Store(Uri url, ObjectFileOptions options) =>
        url.Scheme == "s3" ? new S3ObjectStore(options) : new HttpObjectStore();

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.DnsSafeHost, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>The cache directory of a URL: the hex SHA-256 of the URL as given.</summary>
    internal static string KeyOf(Uri url) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url.OriginalString)));

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*://")]
    private static partial Regex UrlScheme();
}
