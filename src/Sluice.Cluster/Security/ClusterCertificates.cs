using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Cluster;

/// <summary>
/// The certificates of a mutual-TLS cluster (<c>sluice cluster init</c>): a self-signed cluster CA (ECDSA P-256) and one
/// certificate per node signed by it, each with both client and server authentication usages (a silo is both).
/// Files: <c>ca.crt</c> (PEM, public), <c>ca.key</c> (PEM, mode 0600: keep it offline, it signs new nodes),
/// <c>node-N.pfx</c> (PKCS#12 without a password holding the node's certificate and key, mode 0600).
/// </summary>
public static class ClusterCertificates
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private static readonly string[] CaFiles = ["ca.crt", "ca.key"];

    /// <summary>Writes a new CA and <paramref name="nodes"/> node certificates into <paramref name="directory"/>; returns the paths written. Existing files are never overwritten.</summary>
    public static IReadOnlyList<string> Init(string directory, int nodes, TimeSpan? validity = null)
    {
        if (nodes < 1) throw new SluiceException($"--nodes: {nodes} is not accepted; give 1 or more");
        var lifetime = validity ?? TimeSpan.FromDays(3650);
        Directory.CreateDirectory(directory);
        var names = CaFiles.Concat(Enumerable.Range(1, nodes).Select(i => $"node-{i}.pfx")).Select(n => Path.Combine(directory, n)).ToList();
        if (names.FirstOrDefault(File.Exists) is { } existing)
            throw new SluiceException($"cluster init: {existing} exists; give an empty --out directory (existing certificates are never overwritten)");
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore + lifetime;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=Sluice cluster CA {Guid.NewGuid():N}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);
        Write(names[0], System.Text.Encoding.ASCII.GetBytes(ca.ExportCertificatePem() + "\n"), secret: false);
        Write(names[1], System.Text.Encoding.ASCII.GetBytes(caKey.ExportPkcs8PrivateKeyPem() + "\n"), secret: true);
        for (var i = 1; i <= nodes; i++)
        {
            using var cert = IssueNode(ca, $"sluice-node-{i}", notBefore, notAfter);
            Write(names[i + 1], cert.Export(X509ContentType.Pkcs12), secret: true);
        }
        return names;
    }

    /// <summary>A node certificate with its private key, signed by <paramref name="ca"/> (which must hold its key).</summary>
    internal static X509Certificate2 IssueNode(X509Certificate2 ca, string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuth), new Oid(ClientAuth)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var publicOnly = request.Create(ca, notBefore, notAfter, serial);
        return publicOnly.CopyWithPrivateKey(key);
    }

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="ca"/>, the only trust anchor (the machine's roots are not consulted).</summary>
    public static bool ChainsTo(X509Certificate2 ca, X509Certificate2? certificate)
    {
        ArgumentNullException.ThrowIfNull(ca);
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (!chain.Build(certificate)) return false;
        var root = chain.ChainElements[^1].Certificate;
        return root.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span);
    }

    private static void Write(string path, byte[] bytes, bool secret)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        using var stream = new FileStream(path, options);
        stream.Write(bytes);
        CryptographicOperations.ZeroMemory(bytes);
    }
}
