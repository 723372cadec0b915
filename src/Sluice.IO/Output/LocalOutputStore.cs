using System.Security.Cryptography;

namespace Sluice.IO.Output;

/// <summary>A local output directory: files are published by rename, after an fsync; the lock is <see cref="OutputLock"/>.</summary>
internal sealed class LocalOutputStore(string directory) : IOutputStore
{
    public string Display => directory;

    public string Staging => directory;

    public IDisposable Open()
    {
        var full = Full;
        if (File.Exists(full))
            throw new SluiceException($"output '{directory}' is a file, not a directory; give write.path a directory (it is created if missing) or move the file away");
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SluiceException($"output '{directory}' cannot be created ({e.Message}); give write.path a directory you can write", e);
        }
        try
        {
            return OutputLock.Acquire(directory);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // Creating the lock file is the first write into the output: a read-only directory or file system shows here.
            throw new SluiceException($"output '{directory}' is not writable ({e.Message}); give write.path a directory you can write", e);
        }
    }

    // The staging manifest is the output's manifest: nothing to move.
    public void PullManifest(string stagingManifest) { }

    public void PushManifest(string stagingManifest, bool now) { }

    public void DeleteManifest(string stagingManifest) => File.Delete(stagingManifest);

    public IReadOnlyList<string> PartNames() =>
        [.. Directory.EnumerateFiles(directory, "part-*").Select(p => Path.GetFileName(p))];

    public IReadOnlyList<string> ErrorNames()
    {
        var dir = Path.Combine(directory, DeadLetterFile.Directory);
        return Directory.Exists(dir) ? [.. Directory.EnumerateFiles(dir).Select(p => Path.GetFileName(p))] : [];
    }

    /// <summary>Reads the whole file to compare its SHA-256: the price of knowing that a resumed output is whole.</summary>
    public bool Holds(string name, long? bytes, string? sha256)
    {
        var path = PathOf(name);
        var info = new FileInfo(path);
        return info.Exists
            && (bytes is not { } b || info.Length == b)
            && (sha256 is not { } sha || string.Equals(Sha256Of(path), sha, StringComparison.Ordinal));
    }

    public void Publish(string localFile, string name, string? sha256)
    {
        var target = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(localFile, target, overwrite: true);
    }

    public void Delete(string name) => File.Delete(PathOf(name));

    public string? LocalCopy(string name) => File.Exists(PathOf(name)) ? PathOf(name) : null;

    public bool Contains(string inputPath) =>
        !ObjectStorage.DatasetPaths.IsUrl(inputPath)
        && (string.Equals(inputPath, Full, StringComparison.Ordinal) || inputPath.StartsWith(Full + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    public void Dispose() { }

    private string Full => Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));

    private string PathOf(string name) => Path.Combine(directory, name.Replace('/', Path.DirectorySeparatorChar));

    private static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
