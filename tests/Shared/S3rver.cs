using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Sluice.IO.ObjectStorage;

namespace Sluice.Testing.ObjectStorage;

/// <summary>
/// A real S3 server for a test: s3rver (npm, pinned in .ci/helm-tools) on a free loopback port, serving a fresh
/// directory in which <see cref="Bucket"/> exists. Any access key is accepted; the SDK's default chain finds the one
/// this sets in the environment. Objects are put with the SDK, as a user's upload would be.
/// </summary>
public sealed class S3rver : IDisposable
{
    public const string Bucket = "models";

    private readonly Process _process;
    private readonly AmazonS3Client _client;

    private S3rver(Process process, string dir, Uri endpoint)
    {
        _process = process;
        Dir = dir;
        Endpoint = endpoint;
        _client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            // s3rver predates the SDK's trailing checksums (aws-chunked bodies): send plain bodies.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        });
    }

    /// <summary>The served directory (each folder a bucket).</summary>
    public string Dir { get; }

    public Uri Endpoint { get; }

    /// <summary>Options that ask this server, caching into <paramref name="cacheDir"/>.</summary>
    public ObjectFileOptions Options(string cacheDir) => new() { CacheDirectory = cacheDir, S3Endpoint = Endpoint, Region = "us-east-1" };

    public static S3rver Start()
    {
        var bin = Path.Combine(RepoRoot(), ".ci", "tools", "node_modules", ".bin", "s3rver");
        if (!File.Exists(bin))
            throw new InvalidOperationException($"{bin} is missing: run .ci/helm-tools from the repository root (it installs the pinned s3rver@3.7.1 with npm)");
        // Any key works with s3rver; the product reads it through the SDK's default chain, as it would a real one.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        var dir = Path.Combine(Path.GetTempPath(), "sluice-s3rver-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, Bucket));
        var port = FreePort();
        var process = Process.Start(new ProcessStartInfo(bin, ["-d", dir, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(100);
            }
        }
        return new S3rver(process, dir, new Uri($"http://127.0.0.1:{port}"));
    }

    public async Task PutAsync(string key, byte[] bytes)
    {
        using var body = new MemoryStream(bytes);
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = body, UseChunkEncoding = false });
    }

    public Task PutFileAsync(string key, string file) => PutAsync(key, File.ReadAllBytes(file));

    /// <summary>Every key under <paramref name="prefix"/> (all depths), sorted.</summary>
    public async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix };
        ListObjectsV2Response response;
        do
        {
            response = await _client.ListObjectsV2Async(request);
            keys.AddRange((response.S3Objects ?? []).Select(o => o.Key));
            request.ContinuationToken = response.NextContinuationToken;
        }
        while (response.IsTruncated == true);
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    public async Task<byte[]> GetAsync(string key)
    {
        using var response = await _client.GetObjectAsync(Bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    public Task DeleteAsync(string key) => _client.DeleteObjectAsync(Bucket, key);

    public Uri Url(string key) => new($"s3://{Bucket}/{key}");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, ".ci", "helm-tools"))) return dir.FullName;
        throw new InvalidOperationException($"no repository root (with .ci/helm-tools) above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        _client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}
