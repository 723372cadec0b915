using System.Security.Cryptography;
using System.Text;
using Sluice.IO.Output;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// An output at <c>s3://bucket/prefix</c>, committed exactly once as a local one is: a part is made and fsynced in a
/// local staging directory, uploaded (S3 shows an object only once whole), and only then recorded in the manifest,
/// which is uploaded before its blocks count as committed; <c>_SUCCESS</c> last. A kill leaves at most parts uploaded
/// but not recorded: a resume downloads the manifest, deletes every <c>part-*</c> and <c>_errors/</c> object it does
/// not name, and checks each recorded part's size and SHA-256 (kept in the object's metadata) against the record.
/// The staging directory (<c>CACHE/outputs/&lt;hash of the URL&gt;</c>) holds only the open part and the manifest's
/// working copy; the output is locked by a lease object (<see cref="S3OutputLease"/>).
/// S3 has no call to wait on: the sink's synchronous steps block on the SDK's calls off the caller's thread.
/// </summary>
internal sealed class S3OutputStore : IOutputStore
{
    private readonly ObjectFileOptions _options;
    private readonly string _bucket;
    private readonly string _prefix;

    // Serializes manifest uploads; the bytes of the working copy the last upload carried (it only grows).
    private readonly Lock _push = new();
    private long _pushed;

    // Made by Open, disposed with the lock it returns: a store never opened (explain) never makes a client.
    private S3ObjectStore? _s3;
    private S3OutputLease? _lease;

    public S3OutputStore(string url, ObjectFileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme != "s3" || parsed.Host.Length == 0)
            throw new BadInputException($"write.path '{DatasetPaths.WithoutCredentials(url)}': give s3://bucket/prefix");
        if (parsed.UserInfo.Length > 0)
            throw new BadInputException($"write.path '{DatasetPaths.WithoutCredentials(url)}': a URL must not carry credentials; give them in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
        if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
            throw new BadInputException($"write.path '{DatasetPaths.WithoutCredentials(url)}': give s3://bucket/prefix, without ? or #");
        _bucket = parsed.Host;
        var prefix = Uri.UnescapeDataString(parsed.AbsolutePath).Trim('/');
        if (prefix.AsSpan().IndexOfAny('*', '?') >= 0)
            throw new BadInputException($"write.path '{url}': an output is one prefix; wildcards are for read.path");
        _prefix = prefix.Length == 0 ? "" : prefix + "/";
        Display = $"s3://{_bucket}/{prefix}";
        Staging = Path.Combine(Path.GetFullPath(options.CacheDirectory), "outputs",
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Display)), 0, 8));
        _options = options;
    }

    public string Display { get; }

    public string Staging { get; }

    public IDisposable Open()
    {
        Directory.CreateDirectory(Staging);
        // Two runs on this machine exclude each other on the staging directory; runs elsewhere meet at the lease.
        OutputLock local;
        try
        {
            local = OutputLock.Acquire(Staging);
        }
        catch (SluiceException e)
        {
            throw new SluiceException($"output '{Display}' is being written by another run on this machine (its staging directory {Staging} is locked); wait for it to end or stop it", e);
        }
        var s3 = new S3ObjectStore(_options, S3ObjectStore.WriteRetries);
        try
        {
            var lease = S3OutputLease.Acquire(s3, _bucket, _prefix + OutputLock.FileName, Display);
            (_s3, _lease, _pushed) = (s3, lease, 0);
            return new Closing(() =>
            {
                lease.Dispose();
                s3.Dispose();
                local.Dispose();
                (_s3, _lease) = (null, null);
            });
        }
        catch
        {
            s3.Dispose();
            local.Dispose();
            throw;
        }
    }

    public void PullManifest(string stagingManifest)
    {
        if (Wait(S3.TryDownloadAsync(_bucket, Key(SinkManifest.FileName), stagingManifest, CancellationToken.None)) is null)
            File.Delete(stagingManifest);
    }

    /// <summary>
    /// Uploads the working copy when it holds lines no upload has carried yet. Pushes are serialized and coalesce: the
    /// manifest only grows, so an upload that carried at least as many bytes as the file had when this was called carried
    /// every line written before; a push never replaces the manifest with an older one. Task records
    /// (<paramref name="now"/> false) wait for the next commit: they only spare re-reading a task after a kill.
    /// </summary>
    public void PushManifest(string stagingManifest, bool now)
    {
        if (!now) return;
        lock (_push)
        {
            var length = File.Exists(stagingManifest) ? new FileInfo(stagingManifest).Length : 0;
            if (length == 0 || length <= _pushed) return;
            Lease.EnsureHeld();
            // Uploaded from a snapshot in .tmp/ (which every open clears): the working copy may grow while it is read.
            var tmp = Path.Combine(Staging, ".tmp");
            Directory.CreateDirectory(tmp);
            var snapshot = Path.Combine(tmp, $"{SinkManifest.FileName}.{Guid.NewGuid():N}.push");
            File.Copy(stagingManifest, snapshot);
            try
            {
                var carried = new FileInfo(snapshot).Length;
                Wait(S3.UploadAsync(_bucket, Key(SinkManifest.FileName), snapshot, sha256: null, CancellationToken.None));
                _pushed = carried;
            }
            finally
            {
                File.Delete(snapshot);
            }
        }
    }

    public void DeleteManifest(string stagingManifest)
    {
        Delete(SinkManifest.FileName);
        File.Delete(stagingManifest);
    }

    public IReadOnlyList<string> PartNames() =>
        [.. Wait(S3.ListAsync(_bucket, _prefix, CancellationToken.None)).Select(o => o.Key[_prefix.Length..]).Where(n => n.StartsWith("part-", StringComparison.Ordinal))];

    public IReadOnlyList<string> ErrorNames()
    {
        var folder = $"{_prefix}{DeadLetterFile.Directory}/";
        return [.. Wait(S3.ListAsync(_bucket, folder, CancellationToken.None)).Select(o => o.Key[folder.Length..])];
    }

    /// <summary>
    /// The object's size, and the SHA-256 its upload recorded, against the manifest's record. An object replaced by
    /// anything else (no recorded checksum, or another) is not the committed part.
    /// </summary>
    public bool Holds(string name, long? bytes, string? sha256)
    {
        var head = Wait(S3.HeadMetadataAsync(_bucket, Key(name), CancellationToken.None));
        return head is { } h
            && (bytes is not { } b || h.Length == b)
            && (sha256 is null || string.Equals(h.Sha256, sha256, StringComparison.Ordinal));
    }

    public void Publish(string localFile, string name, string? sha256)
    {
        // A run that may have lost the output must not overwrite what the run that took it wrote under the same name.
        Lease.EnsureHeld();
        Wait(S3.UploadAsync(_bucket, Key(name), localFile, sha256, CancellationToken.None));
        File.Delete(localFile);
    }

    public void Delete(string name)
    {
        Lease.EnsureHeld();
        Wait(S3.DeleteAsync(_bucket, Key(name), CancellationToken.None));
    }

    public string? LocalCopy(string name)
    {
        var tmp = Path.Combine(Staging, ".tmp");
        Directory.CreateDirectory(tmp);
        var copy = Path.Combine(tmp, $"copy-{Path.GetFileName(name)}");
        return Wait(S3.TryDownloadAsync(_bucket, Key(name), copy, CancellationToken.None)) is null ? null : copy;
    }

    public bool Contains(string inputPath) =>
        string.Equals(inputPath.TrimEnd('/'), Display.TrimEnd('/'), StringComparison.Ordinal)
        || inputPath.StartsWith(Display.TrimEnd('/') + "/", StringComparison.Ordinal);

    // The client and the lease go with the lock Open returned.
    public void Dispose() { }

    private S3ObjectStore S3 => _s3 ?? throw new InvalidOperationException($"output '{Display}' is not open");

    private S3OutputLease Lease => _lease ?? throw new InvalidOperationException($"output '{Display}' is not open");

    private string Key(string name) => _prefix + name;

    // Every await inside is ConfigureAwait(false): blocking here waits on no synchronization context.
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    private sealed class Closing(Action close) : IDisposable
    {
        public void Dispose() => close();
    }
}
