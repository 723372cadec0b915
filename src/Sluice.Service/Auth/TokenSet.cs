using System.Security.Cryptography;
using System.Text;

namespace Sluice.Service.Auth;

/// <summary>
/// The bearer tokens that may call the API. Only their SHA-256 hashes are kept, and a presented token is compared with
/// every one of them in constant time: neither the time taken nor an early exit tells how much of a token was right.
/// </summary>
internal sealed class TokenSet
{
    private readonly byte[][] _hashes;

    public TokenSet(IEnumerable<string> tokens) =>
        _hashes = [.. tokens.Select(t => t.Trim()).Where(t => t.Length > 0).Select(Hash)];

    public int Count => _hashes.Length;

    /// <summary>Whether <paramref name="authorization"/> (an <c>Authorization</c> header) carries one of the tokens.</summary>
    public bool Accepts(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var presented = Hash(authorization[scheme.Length..].Trim());
        var match = false;
        // No early exit: every stored hash is compared, whichever matches.
        foreach (var hash in _hashes) match |= CryptographicOperations.FixedTimeEquals(hash, presented);
        return match;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
