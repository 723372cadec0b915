using System.Collections.Concurrent;
using System.Security.Cryptography;
using Sluice.Contracts;

namespace Sluice.Cluster.Files;

/// <summary>
/// The driver's side of job files: resolves each file a stage's options name to a full path on the driver, hashes it and
/// registers the hash as one <see cref="FileSourceGrain"/> may serve. Hashes are cached per (full path, length, last write
/// time): a 90 MB model is read once per job, not once per actor, and a file changed in between is hashed again.
/// </summary>
internal sealed class JobFileSources
{
    /// <summary>Hash → the file the driver serves under it: only these are readable from other nodes.</summary>
    private readonly ConcurrentDictionary<string, ServedFile> _served = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), Lazy<string>> _hashes = new();

    /// <summary>A registered file: where it lies on the driver and its length when it was hashed.</summary>
    internal sealed record ServedFile(string Path, long Length);

    /// <summary>
    /// The manifest of <paramref name="descriptor"/>'s job files for an actor of stage <paramref name="stage"/>, each now
    /// served by this node. Relative paths resolve in the driver's working directory, as they do in a job without a cluster.
    /// </summary>
    /// <exception cref="SluiceException">A file is missing on the driver (named with its stage, option and path).</exception>
    public async Task<JobFileEntry[]> RegisterAsync(string stage, ProcessorDescriptor descriptor, CancellationToken cancellationToken)
    {
        var entries = new List<JobFileEntry>(descriptor.JobFiles.Count);
        foreach (var (option, path) in descriptor.JobFiles)
        {
            var full = Path.GetFullPath(path);
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                throw new SluiceException($"stage '{stage}': {option}: '{path}' does not exist on the driver (looked for {full}); " +
                    "give the path of a file the driver can read: the driver sends it to the workers that run the stage");
            }
            var hash = _hashes.GetOrAdd((full, info.Length, info.LastWriteTimeUtc), key => new Lazy<string>(() => Hash(key.Path)));
            // Hashing reads the whole file: off the caller's thread, and once however many actors ask at the same time.
            var sha = await Task.Run(() => hash.Value, cancellationToken).ConfigureAwait(false);
            _served[sha] = new ServedFile(full, info.Length);
            entries.Add(new JobFileEntry(option, sha, info.Length, Path.GetFileName(full)));
        }
        return [.. entries];
    }

    /// <summary>The file served under <paramref name="sha256"/>; false for any hash this driver's job did not register.</summary>
    public bool TryGet(string sha256, out ServedFile file) => _served.TryGetValue(sha256, out file!);

    internal static string Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
