using System.Security.Cryptography;
using System.Text;
using Sluice.Cluster.Files;

namespace Sluice.Cluster.Tests.Files;

/// <summary>The node's file cache on its own: what it accepts over the wire, and what it keeps.</summary>
public sealed class FileCacheTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sluice-cache-{Guid.NewGuid():N}");

    private static readonly byte[] Content = Encoding.UTF8.GetBytes("weights of a small model, in two chunks");

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A source that serves <paramref name="bytes"/> in chunks of 16 bytes, announcing <paramref name="total"/>, and counts its calls.</summary>
    private static Func<long, Task<FileChunk>> Serving(byte[] bytes, long total, Action? onCall = null) => offset =>
    {
        onCall?.Invoke();
        var count = (int)Math.Min(16, bytes.Length - offset);
        return Task.FromResult(new FileChunk(true, bytes.AsSpan((int)offset, count).ToArray(), total));
    };

    [Fact]
    public async Task EnsureAsync_SameFileAskedConcurrently_FetchedOnce()
    {
        var cache = new FileCache(_dir);
        var entry = new JobFileEntry("Model", Sha(Content), Content.Length, "model.onnx");

        var paths = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => cache.EnsureAsync(entry, "test", Serving(Content, Content.Length), CancellationToken.None)));

        Assert.Single(paths.Distinct());
        Assert.Equal(Path.Combine(cache.Directory, entry.Sha256, "model.onnx"), paths[0]);
        Assert.Equal(Content, await File.ReadAllBytesAsync(paths[0]));
        Assert.Equal(Content.Length, cache.BytesFetched);
    }

    [Fact]
    public async Task EnsureAsync_BytesDoNotMatchTheHash_RefusedAndNothingKept()
    {
        var cache = new FileCache(_dir);
        var entry = new JobFileEntry("Model", Sha(Encoding.UTF8.GetBytes("other bytes")), Content.Length, "model.onnx");

        var e = await Assert.ThrowsAsync<SluiceException>(() => cache.EnsureAsync(entry, "driver node d", Serving(Content, Content.Length), CancellationToken.None));

        Assert.Contains($"job file 'model.onnx' (Model) from driver node d: received {Content.Length:N0} bytes with SHA-256 {Sha(Content)}", e.Message);
        Assert.Contains("refused, nothing kept", e.Message);
        Assert.Empty(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task EnsureAsync_DamagedCopyInTheCache_FetchedAgain()
    {
        var entry = new JobFileEntry("Model", Sha(Content), Content.Length, "model.onnx");
        var path = await new FileCache(_dir).EnsureAsync(entry, "test", Serving(Content, Content.Length), CancellationToken.None);
        var damaged = (byte[])Content.Clone();
        damaged[3] ^= 1;
        await File.WriteAllBytesAsync(path, damaged);
        var calls = 0;
        // A new process: it checks what it finds before using it.
        var cache = new FileCache(_dir);

        var again = await cache.EnsureAsync(entry, "test", Serving(Content, Content.Length, () => calls++), CancellationToken.None);

        Assert.Equal(path, again);
        Assert.Equal(Content, await File.ReadAllBytesAsync(again));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task EnsureAsync_TempFileOfAFetchThatDied_RemovedWhenOldOnly()
    {
        var entry = new JobFileEntry("Model", Sha(Content), Content.Length, "model.onnx");
        var dir = Path.Combine(_dir, entry.Sha256);
        Directory.CreateDirectory(dir);
        var old = Path.Combine(dir, ".model.onnx.123.aaaa.part");
        var young = Path.Combine(dir, ".model.onnx.456.bbbb.part");
        await File.WriteAllTextAsync(old, "half a model");
        await File.WriteAllTextAsync(young, "being written by another process");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow - FileCache.AbandonedAfter - TimeSpan.FromMinutes(1));

        await new FileCache(_dir).EnsureAsync(entry, "test", Serving(Content, Content.Length), CancellationToken.None);

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young));
    }

    [Fact]
    public async Task EnsureAsync_CacheDirectoryUnwritable_RefusedNamingTheCache()
    {
        // A plain file where the cache directory should be: no directory can be made under it, whoever runs the test.
        await File.WriteAllTextAsync(_dir, "not a directory");
        var cache = new FileCache(Path.Combine(_dir, "files"));
        var entry = new JobFileEntry("Model", Sha(Content), Content.Length, "model.onnx");

        var e = await Assert.ThrowsAsync<SluiceException>(() => cache.EnsureAsync(entry, "test", Serving(Content, Content.Length), CancellationToken.None));

        Assert.StartsWith($"job file 'model.onnx' (Model): cannot keep it in this node's file cache {cache.Directory}: ", e.Message);
        Assert.EndsWith("give the worker a writable directory with room for the job's models (--cache-dir)", e.Message);
        File.Delete(_dir);
    }

    [Theory]
    [InlineData("../model.onnx")]
    [InlineData("..")]
    [InlineData("sub/model.onnx")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public async Task EnsureAsync_FileNameWithADirectory_Refused(string name)
    {
        var cache = new FileCache(_dir);
        var entry = new JobFileEntry("Model", Sha(Content), Content.Length, name);

        var e = await Assert.ThrowsAsync<SluiceException>(() => cache.EnsureAsync(entry, "test", Serving(Content, Content.Length), CancellationToken.None));

        Assert.Equal($"job file Model: '{name}' is not accepted as a file name (one name, no directory): refused", e.Message);
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public async Task EnsureAsync_HashNotHex_Refused()
    {
        var cache = new FileCache(_dir);
        var entry = new JobFileEntry("Model", "../../" + new string('a', 58), Content.Length, "model.onnx");

        var e = await Assert.ThrowsAsync<SluiceException>(() => cache.EnsureAsync(entry, "test", Serving(Content, Content.Length), CancellationToken.None));

        Assert.Contains("is not a SHA-256 (64 lowercase hex digits): refused", e.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
