using System.Globalization;
using System.Net;

namespace Sluice.Telemetry;

/// <summary>HOST:PORT for the stand-alone <c>/metrics</c> listener, as HttpListener names it.</summary>
internal static class ListenAddress
{
    public static bool TryParse(string text, out (string Host, int Port) address)
    {
        address = default;
        var colon = text.LastIndexOf(':');
        if (colon <= 0) return false;
        if (!IPAddress.TryParse(text[..colon].Trim('[', ']'), out var ip)) return false;
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535) return false;
        // HttpListener names "every interface" with a wildcard host, not an address.
        var host = ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ? "+"
            : ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        address = (host, port);
        return true;
    }
}
