using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Sluice.Cluster.Files;

/// <summary>
/// A node's cache of job files sent by drivers, content-addressed: <c>{directory}/{sha256}/{file name}</c>. A file is
/// fetched once per node however many actors want it (they share one fetch), written to a temp file beside its place,
/// checked against the length and SHA-256 the driver announced, and only then renamed into place: a reader never sees
/// a partial or unverified file. A file already there is re-hashed the first time this process uses it, and again
/// whenever its length or last write time has changed since: a damaged copy is fetched anew, never used.
/// </summary>
internal sealed class FileCache(string directory)
{
    /// <summary>How often a file that changes while it is checked is tried again before giving up.</summary>
    private const int Attempts = 3;

    /// <summary>Age after which a temp file is taken for abandoned (<see cref="RemoveAbandoned"/>).</summary>
    internal static readonly TimeSpan AbandonedAfter = TimeSpan.FromDays(1);

    private readonly ConcurrentDictionary<string, Lazy<Task<Verified>>> _files = new(StringComparer.Ordinal);
    private long _bytesFetched;

    /// <summary>The cache's root directory (created on the first fetch).</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Bytes fetched from drivers so far: a file sent once per node counts once.</summary>
    public long BytesFetched => Interlocked.Read(ref _bytesFetched);

    /// <summary><c>$XDG_CACHE_HOME/sluice/files</c>, else <c>~/.cache/sluice/files</c>.</summary>
    public static string DefaultDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathFullyQualified(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "sluice", "files");
    }

    /// <summary>
    /// The local path of <paramref name="file"/>, fetched through <paramref name="read"/> (a chunk at an offset) unless a
    /// verified copy is here. <paramref name="from"/> names the source in errors.
    /// </summary>
    /// <exception cref="SluiceException">The entry is malformed, the source refuses or fails, or the bytes do not match.</exception>
    public async Task<string> EnsureAsync(JobFileEntry file, string from, Func<long, Task<FileChunk>> read, CancellationToken cancellationToken)
    {
        var (sha, name) = Checked(file);
        var key = $"{sha}/{name}";
        for (var attempt = 1; ; attempt++)
        {
            var entry = _files.GetOrAdd(key, _ => new Lazy<Task<Verified>>(() => Task.Run(() => LoadOrExplainAsync(file, sha, name, from, read))));
            Verified verified;
            try
            {
                // The shared load is not cancelled with this caller: another actor may be waiting for the same file.
                verified = await entry.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // A failed load is forgotten, so the next actor tries again (the source may be back, the file mended).
                _files.TryRemove(KeyValuePair.Create(key, entry));
                throw;
            }
            if (verified.Unchanged()) return verified.Path;
            // Written to since it was checked (by hand, by a disk fault): check it again, and fetch it again if damaged.
            _files.TryRemove(KeyValuePair.Create(key, entry));
            if (attempt == Attempts) throw new SluiceException($"job file '{name}' in the cache ({verified.Path}) keeps changing while it is checked: refused");
        }
    }

    /// <summary><see cref="LoadAsync"/>, with a disk that refuses (no space, no permission) named as the cache's problem.</summary>
    private async Task<Verified> LoadOrExplainAsync(JobFileEntry file, string sha, string name, string from, Func<long, Task<FileChunk>> read)
    {
        try
        {
            return await LoadAsync(file, sha, name, from, read).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SluiceException($"job file '{name}' ({file.Option}): cannot keep it in this node's file cache {Directory}: {e.Message}; " +
                "give the worker a writable directory with room for the job's models (--cache-dir)", e);
        }
    }

    private async Task<Verified> LoadAsync(JobFileEntry file, string sha, string name, string from, Func<long, Task<FileChunk>> read)
    {
        var dir = Path.Combine(Directory, sha);
        var path = Path.Combine(dir, name);
        if (File.Exists(path))
        {
            var present = Verified.Of(path);
            if (present.Length == file.Length && JobFileSources.Hash(path) == sha) return present;
            // A damaged or foreign copy: never used. Another process may be replacing it at this moment, which is fine.
            File.Delete(path);
        }
        System.IO.Directory.CreateDirectory(dir);
        RemoveAbandoned(dir);
        var temp = Path.Combine(dir, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.part");
        try
        {
            long received;
            string actual;
            var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            await using (output.ConfigureAwait(false))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                received = await ReceiveAsync(file, name, from, read, output, hash).ConfigureAwait(false);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                output.Flush(flushToDisk: true);
            }
            if (received != file.Length || actual != sha)
            {
                throw new SluiceException($"job file '{name}' ({file.Option}) from {from}: received {received:N0} bytes with SHA-256 {actual}, " +
                    $"announced {file.Length:N0} bytes with SHA-256 {sha} (the file changed on the driver while the job ran?): refused, nothing kept");
            }
            // Atomic: readers see no file or the whole verified one. Two processes sharing the directory write the same bytes.
            File.Move(temp, path, overwrite: true);
            return Verified.Of(path);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Deletes temp files of fetches that died with their process (killed mid-download) in <paramref name="dir"/>. A day
    /// old at least: no live fetch takes that long, and another process sharing the cache may be writing a younger one.
    /// </summary>
    internal static void RemoveAbandoned(string dir)
    {
        foreach (var part in System.IO.Directory.EnumerateFiles(dir, ".*.part"))
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(part) < AbandonedAfter) continue;
            try
            {
                File.Delete(part);
            }
            catch (IOException)
            {
                // Best effort: a file that cannot go now goes on a later fetch.
            }
        }
    }

    private async Task<long> ReceiveAsync(JobFileEntry file, string name, string from, Func<long, Task<FileChunk>> read, FileStream output, IncrementalHash hash)
    {
        long offset = 0;
        while (offset < file.Length)
        {
            FileChunk chunk;
            try
            {
                chunk = await read(offset).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw new SluiceException($"job file '{name}' ({file.Option}): could not fetch it from {from}: {e.Message}", e);
            }
            if (!chunk.Served) throw new SluiceException($"job file '{name}' ({file.Option}): {from} does not serve SHA-256 {file.Sha256} (a driver serves only the files of its own job)");
            // An empty chunk before the end, or more than announced: the file on the driver changed size.
            if (chunk.Data.Length == 0 || chunk.TotalBytes != file.Length) break;
            hash.AppendData(chunk.Data);
            await output.WriteAsync(chunk.Data).ConfigureAwait(false);
            offset += chunk.Data.Length;
            Interlocked.Add(ref _bytesFetched, chunk.Data.Length);
        }
        return offset;
    }

    /// <summary>
    /// What comes over the wire, checked before it touches the disk: the hash is 64 hex digits and the name one plain
    /// file name (no directory, no <c>..</c>): an entry can only ever name a file inside its own hash's directory.
    /// </summary>
    internal static (string Sha, string Name) Checked(JobFileEntry file)
    {
        var sha = file.Sha256;
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower)) throw new SluiceException($"job file {file.Option}: '{sha}' is not a SHA-256 (64 lowercase hex digits): refused");
        var name = file.FileName;
        if (name.Length == 0 || name is "." or ".." || Path.GetFileName(name) != name
            || name.IndexOfAny(['/', '\\', '\0']) >= 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new SluiceException($"job file {file.Option}: '{name}' is not accepted as a file name (one name, no directory): refused");
        if (file.Length < 0) throw new SluiceException($"job file {file.Option}: length {file.Length} is not accepted: refused");
        return (sha, name);
    }

    /// <summary>A checked file and how it looked when checked: a change to either means it must be checked again.</summary>
    private sealed record Verified(string Path, long Length, DateTime Modified)
    {
        public static Verified Of(string path)
        {
            var info = new FileInfo(path);
            return new(path, info.Length, info.LastWriteTimeUtc);
        }

        public bool Unchanged()
        {
            var info = new FileInfo(Path);
            return info.Exists && info.Length == Length && info.LastWriteTimeUtc == Modified;
        }
    }
}
