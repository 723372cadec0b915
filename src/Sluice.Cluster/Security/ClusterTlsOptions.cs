using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Cluster;

/// <summary>
/// Mutual TLS between the nodes of a cluster: every connection between silos is TLS, each side presents its node
/// certificate and accepts only a peer whose certificate chains to the cluster CA (<c>sluice cluster init</c> makes both).
/// </summary>
public sealed record ClusterTlsOptions
{
    /// <summary>The cluster CA's certificate (PEM or DER), the only trust anchor for peers.</summary>
    public required string CaCertificate { get; init; }

    /// <summary>This node's certificate with its private key: a PKCS#12 file without a password (<c>node-N.pfx</c>).</summary>
    public required string NodeCertificate { get; init; }

    /// <summary>Every problem with these options, one line each.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrEmpty(CaCertificate) || !File.Exists(CaCertificate)) yield return $"tls_ca: '{CaCertificate}' is not accepted; give the cluster CA certificate file (ca.crt from `sluice cluster init`)";
        if (string.IsNullOrEmpty(NodeCertificate) || !File.Exists(NodeCertificate)) yield return $"tls_cert: '{NodeCertificate}' is not accepted; give this node's certificate file (node-N.pfx from `sluice cluster init`)";
    }

    /// <summary>Loads the CA and the node certificate; a file that is not what it should be is one clear line.</summary>
    internal (X509Certificate2 Ca, X509Certificate2 Node) Load()
    {
        X509Certificate2 ca;
        try
        {
            ca = X509CertificateLoader.LoadCertificateFromFile(CaCertificate);
        }
        catch (CryptographicException e)
        {
            throw new SluiceException($"--tls-ca: {CaCertificate} is not a certificate ({e.GetType().Name})");
        }
        X509Certificate2 node;
        try
        {
            node = X509CertificateLoader.LoadPkcs12FromFile(NodeCertificate, password: null);
        }
        catch (CryptographicException)
        {
            ca.Dispose();
            throw new SluiceException($"--tls-cert: {NodeCertificate} is not a PKCS#12 file without a password (node-N.pfx from `sluice cluster init`)");
        }
        if (!node.HasPrivateKey)
        {
            ca.Dispose();
            node.Dispose();
            throw new SluiceException($"--tls-cert: {NodeCertificate} holds no private key");
        }
        if (!ClusterCertificates.ChainsTo(ca, node))
        {
            ca.Dispose();
            node.Dispose();
            throw new SluiceException($"--tls-cert: {NodeCertificate} is not signed by the CA in {CaCertificate}");
        }
        return (ca, node);
    }
}
