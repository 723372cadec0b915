using System.Net;

namespace Sluice.Service;

/// <summary><c>HOST:PORT</c> as <c>--listen</c> takes it.</summary>
internal static class ListenAddress
{
    public static bool TryParse(string text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535) return false;
        var host = text[..colon].Trim('[', ']');
        if (host == "localhost") host = "127.0.0.1";
        if (!IPAddress.TryParse(host, out var address)) return false;
        endpoint = new IPEndPoint(address, port);
        return true;
    }
}
