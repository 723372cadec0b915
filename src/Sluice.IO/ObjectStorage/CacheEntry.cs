using System.Globalization;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// One URL's place in the cache: <c>CACHE/&lt;key&gt;/&lt;name&gt;</c> and its sidecar <c>CACHE/&lt;key&gt;/.object</c>
/// (two lines: the size, the ETag). The sidecar is removed before a new copy is renamed into place and written after,
/// so a copy without a sidecar (a fetch that died between) is never trusted, only fetched again.
/// </summary>
internal sealed class CacheEntry
{
    private const string Sidecar = ".object";

    private readonly string _dir;

    public CacheEntry(string cacheDirectory, Uri url)
    {
        _dir = Path.Combine(Path.GetFullPath(cacheDirectory), ObjectFiles.KeyOf(url));
        File = Path.Combine(_dir, FileName(url));
    }

    /// <summary>The cached copy's path (it may not exist yet).</summary>
    public string File { get; }

    private string SidecarFile => Path.Combine(_dir, Sidecar);

    /// <summary>Whether the cache holds the version the server describes: same size, same ETag (each as far as the server says).</summary>
    public bool Holds(RemoteObject remote)
    {
        if (remote.Length is null && remote.ETag is null) return false;
        if (!System.IO.File.Exists(File) || !System.IO.File.Exists(SidecarFile)) return false;
        var lines = System.IO.File.ReadAllLines(SidecarFile);
        if (lines.Length < 2 || !long.TryParse(lines[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var length)) return false;
        if (new FileInfo(File).Length != length) return false;
        return (remote.Length is null || remote.Length == length) && (remote.ETag is null || remote.ETag == lines[1]);
    }

    public async Task DownloadAsync(IObjectStore store, Uri url, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_dir);
        RemoveAbandonedTempFiles();
        // Beside the target, so the rename stays on one file system (atomic); unique, so concurrent fetches do not collide.
        var temp = $"{File}.{Guid.NewGuid():N}.tmp";
        try
        {
            RemoteObject got;
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                got = await store.GetAsync(url, stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
                if (got.Length is { } expected && stream.Length != expected)
                    throw new ObjectFileException($"{ObjectFiles.Display(url)}: the download broke off ({stream.Length} of {expected} bytes)");
            }
            System.IO.File.Delete(SidecarFile);
            System.IO.File.Move(temp, File, overwrite: true);
            var length = new FileInfo(File).Length;
            var sidecarTemp = SidecarFile + ".tmp";
            await System.IO.File.WriteAllTextAsync(sidecarTemp, $"{length.ToString(CultureInfo.InvariantCulture)}\n{got.ETag}\n", cancellationToken).ConfigureAwait(false);
            System.IO.File.Move(sidecarTemp, SidecarFile, overwrite: true);
        }
        finally
        {
            if (System.IO.File.Exists(temp)) System.IO.File.Delete(temp);
        }
    }

    /// <summary>
    /// Temp files of downloads whose process died: once a day old, as the job-file cache does it (a live download
    /// rewrites its temp file continually, so its write time stays recent).
    /// </summary>
    private void RemoveAbandonedTempFiles()
    {
        foreach (var file in Directory.EnumerateFiles(_dir, "*.tmp"))
        {
            try
            {
                if (DateTime.UtcNow - System.IO.File.GetLastWriteTimeUtc(file) > TimeSpan.FromDays(1)) System.IO.File.Delete(file);
            }
            catch (IOException)
            {
                // Another fetch removed it first.
            }
        }
    }

    /// <summary>The URL's last path segment as a file name (the model's own name, so ops that look at it still can).</summary>
    private static string FileName(Uri url)
    {
        var last = Uri.UnescapeDataString(url.AbsolutePath.TrimEnd('/').Split('/')[^1]);
        var safe = string.Concat(last.Select(c => Path.GetInvalidFileNameChars().Contains(c) ? '_' : c));
        return safe is "" or "." or ".." || safe == Sidecar ? "object" : safe;
    }
}
