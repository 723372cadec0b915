using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace Sluice.Cluster;

/// <summary>
/// The cluster's Redis: <c>redis://HOST:PORT</c>, <c>redis://:PASSWORD@HOST:PORT</c> or <c>redis://USER:PASSWORD@HOST:PORT</c>;
/// <c>rediss://</c> for TLS to Redis (the server's certificate checked against the system's roots, or a CA given with
/// <see cref="ClusterNodeOptions.RedisCaFile"/>; its name must match the host).
/// Its <see cref="ToString"/> is the masked form (<c>redis://***@HOST:PORT</c> when there is a password): the one way an
/// address reaches a log line, an error or an exception message.
/// </summary>
internal sealed partial record RedisAddress(string Host, int Port, string? User, string? Password)
{
    /// <summary>The link to Redis is TLS (<c>rediss://</c>).</summary>
    public bool Tls { get; init; }

    /// <summary>A PEM file of the CA the Redis server's certificate must chain to (else the system's roots).</summary>
    public string? CaFile { get; init; }

    /// <summary>Where a node finds the password when neither the URL nor a password file gives one.</summary>
    public const string PasswordVariable = "SLUICE_REDIS_PASSWORD";

    public const string Accepted = "give redis://HOST:PORT, or redis://:PASSWORD@HOST:PORT with a password, e.g. redis://127.0.0.1:6379 (rediss:// for TLS)";

    /// <summary>What to give when Redis wants a password (for messages).</summary>
    public const string HowToGivePassword =
        "give it in the URL (redis://:PASSWORD@HOST:PORT), in the environment variable " + PasswordVariable + ", or in a file with --redis-password-file PATH";

    public static bool TryParse(string? uri, out RedisAddress address)
    {
        address = null!;
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(u.Host)) return false;
        string? user = null, password = null;
        if (u.UserInfo.Length > 0)
        {
            // USER:PASSWORD, :PASSWORD, or PASSWORD alone (as redis-cli's -u and most clients read it).
            var colon = u.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var (rawUser, rawPassword) = colon < 0 ? ("", u.UserInfo) : (u.UserInfo[..colon], u.UserInfo[(colon + 1)..]);
            user = rawUser.Length > 0 ? Uri.UnescapeDataString(rawUser) : null;
            password = rawPassword.Length > 0 ? Uri.UnescapeDataString(rawPassword) : null;
        }
        address = new RedisAddress(u.Host, u.IsDefaultPort || u.Port < 0 ? 6379 : u.Port, user, password) { Tls = u.Scheme == "rediss" };
        return true;
    }

    public static RedisAddress Parse(string uri) =>
        TryParse(uri, out var address) ? address : throw new SluiceException($"cluster: '{Mask(uri)}' is not accepted; {Accepted}");

    /// <summary>
    /// The address with its password resolved: the URL's, else the file's (<paramref name="passwordFile"/>), else
    /// <see cref="PasswordVariable"/>'s. A file that cannot be read is a clear error naming the path (never its content).
    /// </summary>
    public static RedisAddress Resolve(string uri, string? passwordFile, Func<string, string?>? environment = null, string? caFile = null)
    {
        var address = Parse(uri);
        if (caFile is not null)
        {
            if (!address.Tls) throw new SluiceException($"--redis-ca: a CA for TLS to Redis, but {address} is not TLS; give rediss://HOST:PORT");
            if (!File.Exists(caFile)) throw new SluiceException($"--redis-ca: '{caFile}' does not exist; give the PEM file of the CA that signed the Redis server's certificate");
            address = address with { CaFile = caFile };
        }
        if (address.Password is not null) return address;
        if (passwordFile is not null)
        {
            string text;
            try
            {
                text = File.ReadAllText(passwordFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SluiceException($"--redis-password-file: cannot read '{passwordFile}' ({e.GetType().Name}); give a readable file holding the password of {address}");
            }
            // A file written by `echo secret > file` ends with a newline that is not part of the password.
            var password = text.TrimEnd('\r', '\n');
            if (password.Length == 0) throw new SluiceException($"--redis-password-file: '{passwordFile}' is empty; give a file holding the password of {address}");
            return address with { Password = password };
        }
        var fromEnvironment = (environment ?? Environment.GetEnvironmentVariable)(PasswordVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? address : address with { Password = fromEnvironment };
    }

    /// <summary>What StackExchange.Redis (and so both Orleans Redis providers) connects with, password included.</summary>
    public ConfigurationOptions ToConfiguration()
    {
        var configuration = ConfigurationOptions.Parse($"{Host}:{Port}");
        configuration.User = User;
        configuration.Password = Password;
        if (Tls)
        {
            // The server's name must match its certificate (SslHost); the chain must end in the given CA, or the system's roots.
            configuration.Ssl = true;
            configuration.SslHost = Host;
            if (CaFile is not null) configuration.TrustIssuer(CaFile);
        }
        return configuration;
    }

    /// <summary><paramref name="text"/> with this address's password replaced by <c>***</c> (for messages from libraries that may echo it).</summary>
    public string Scrub(string text) => string.IsNullOrEmpty(Password) ? text : text.Replace(Password, "***", StringComparison.Ordinal);

    /// <summary>The masked address: <c>redis://***@HOST:PORT</c> when there is a password, <c>redis://HOST:PORT</c> otherwise.</summary>
    public override string ToString() => Password is null && User is null ? $"{Scheme}://{Host}:{Port}" : $"{Scheme}://***@{Host}:{Port}";

    private string Scheme => Tls ? "rediss" : "redis";

    /// <summary>
    /// Any text given as a Redis URL, masked: the parsed address's form, or (for a URL that does not parse)
    /// the text with whatever lies between <c>//</c> and <c>@</c> replaced by <c>***</c>.
    /// </summary>
    public static string Mask(string? uri) =>
        TryParse(uri, out var address) ? address.ToString() : UserInfo().Replace(uri ?? "", "//***@");

    [GeneratedRegex("//[^/]*@")]
    private static partial Regex UserInfo();
}
