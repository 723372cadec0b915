using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// A node's address as the operator writes it: <c>HOST:PORT</c> or <c>HOST</c>, where HOST is an IPv4 address (four
/// dotted numbers), an IPv6 address (in brackets when a port follows) or <c>localhost</c>. Names are not resolved:
/// Orleans advertises an IP address, and a name that resolves differently on each node would split the cluster.
/// </summary>
internal readonly record struct NodeAddress(IPAddress Host, int? Port)
{
    public const string Accepted = "give an IP address (IPv4 as four dotted numbers, IPv6 in brackets before a port, or localhost)";

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong (without the flag's name).</summary>
    public static bool TryParse(string text, out NodeAddress address, out string error)
    {
        address = default;
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) { error = "an IPv6 address in brackets has no ']'"; return false; }
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') { error = $"'{rest}' after ']' is not ':PORT'"; return false; }
                port = rest[1..];
            }
            if (!host.Contains(':', StringComparison.Ordinal)) { error = "brackets are only for IPv6 addresses"; return false; }
        }
        else
        {
            var colons = text.Count(c => c == ':');
            if (colons == 1)
            {
                var at = text.IndexOf(':', StringComparison.Ordinal);
                host = text[..at];
                port = text[(at + 1)..];
            }
            else host = text;
        }
        if (!TryParseHost(host, out var ip)) { error = $"'{host}' is not an IP address; {Accepted}"; return false; }
        int? number = null;
        if (port is not null)
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
            {
                error = $"port '{port}' is not a number from 0 to 65535";
                return false;
            }
            number = p;
        }
        address = new NodeAddress(ip, number);
        error = "";
        return true;
    }

    private static bool TryParseHost(string host, out IPAddress ip)
    {
        ip = IPAddress.None;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) { ip = IPAddress.Loopback; return true; }
        if (host.Length == 0 || !IPAddress.TryParse(host, out var parsed)) return false;
        if (parsed.AddressFamily == AddressFamily.InterNetwork)
        {
            // IPAddress.TryParse takes "1" or "1.2" as IPv4 shorthands; an operator who wrote them meant something else.
            var parts = host.Split('.');
            if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit))) return false;
        }
        else if (parsed.AddressFamily != AddressFamily.InterNetworkV6) return false;
        ip = parsed;
        return true;
    }

    public override string ToString() => Port is { } p ? new IPEndPoint(Host, p).ToString() : Host.ToString();
}

/// <summary>Where a node listens and what it tells other nodes to call, both resolved (ports included).</summary>
internal sealed record NodeEndpoints(IPEndPoint Listen, IPEndPoint Advertise)
{
    /// <summary>
    /// Resolves <paramref name="options"/>: listen defaults to 127.0.0.1, and port 0 there means a free port found now;
    /// advertise defaults to <c>POD_IP</c> (<paramref name="podIp"/>), else the listen host unless it is a wildcard,
    /// else 127.0.0.1; the advertised port defaults to the listening one. Options are valid (validated before).
    /// </summary>
    public static NodeEndpoints Resolve(ClusterNodeOptions options, string? podIp, Func<IPAddress, int> freePort)
    {
        var listen = options.Listen is { } l && NodeAddress.TryParse(l, out var la, out _) ? la : new NodeAddress(IPAddress.Loopback, 0);
        var listenPort = listen.Port is { } lp && lp > 0 ? lp : freePort(listen.Host);
        var advertise = AdvertiseHost(options, podIp, listen.Host);
        return new NodeEndpoints(new IPEndPoint(listen.Host, listenPort), new IPEndPoint(advertise.Host, advertise.Port ?? listenPort));
    }

    internal static NodeAddress AdvertiseHost(ClusterNodeOptions options, string? podIp, IPAddress listenHost)
    {
        if (options.Advertise is { } a && NodeAddress.TryParse(a, out var given, out _)) return given;
        if (!string.IsNullOrWhiteSpace(podIp) && NodeAddress.TryParse(podIp.Trim(), out var pod, out _) && pod.Port is null) return pod;
        return IsWildcard(listenHost) ? new NodeAddress(IPAddress.Loopback, null) : new NodeAddress(listenHost, null);
    }

    public static bool IsWildcard(IPAddress ip) => ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any);
}
