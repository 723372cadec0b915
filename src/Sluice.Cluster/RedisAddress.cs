namespace Sluice.Cluster;

/// <summary>Parses <c>redis://HOST:PORT</c> into the <c>HOST:PORT</c> form StackExchange.Redis takes.</summary>
internal static class RedisAddress
{
    public static bool TryParse(string? uri, out string hostPort)
    {
        hostPort = "";
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Scheme != "redis" || string.IsNullOrEmpty(u.Host)) return false;
        hostPort = $"{u.Host}:{(u.IsDefaultPort || u.Port < 0 ? 6379 : u.Port)}";
        return true;
    }

    public static string Parse(string uri) =>
        TryParse(uri, out var hostPort) ? hostPort : throw new SluiceException($"cluster: '{uri}' is not accepted; give redis://HOST:PORT, e.g. redis://127.0.0.1:6379");
}
