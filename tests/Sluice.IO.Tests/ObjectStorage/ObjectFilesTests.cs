using Sluice.IO.ObjectStorage;
using Sluice.Testing.ObjectStorage;

namespace Sluice.IO.Tests.ObjectStorage;

/// <summary>One s3rver for the class: starting node takes a second, each test uses its own keys and cache.</summary>
public sealed class S3rverFixture : IDisposable
{
    public S3rver Server { get; } = S3rver.Start();

    public void Dispose() => Server.Dispose();
}

public sealed class ObjectFilesTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempDir _cache = new();
    private S3rver Server => fixture.Server;

    [Fact]
    public async Task FetchAsync_S3Object_WritesItsBytesUnderTheUrlsHashWithItsName()
    {
        var bytes = Bytes(100_000, seed: 1);
        await Server.PutAsync("a/model.onnx", bytes);

        var path = await ObjectFiles.FetchAsync(Server.Url("a/model.onnx"), Server.Options(_cache.Path));

        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        Assert.Equal("model.onnx", Path.GetFileName(path));
        Assert.Equal(Path.Combine(_cache.Path, ObjectFiles.KeyOf(Server.Url("a/model.onnx"))), Path.GetDirectoryName(path));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public async Task FetchAsync_Twice_ReusesTheCachedCopy()
    {
        await Server.PutAsync("b/vocab.txt", Bytes(5_000, seed: 2));
        var first = await ObjectFiles.FetchAsync(Server.Url("b/vocab.txt"), Server.Options(_cache.Path));
        var written = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(first, written);

        var second = await ObjectFiles.FetchAsync(Server.Url("b/vocab.txt"), Server.Options(_cache.Path));

        Assert.Equal(first, second);
        Assert.Equal(written, File.GetLastWriteTimeUtc(second)); // not downloaded again: a download writes a new file
    }

    [Fact]
    public async Task FetchAsync_ObjectReplacedWithSameSize_FetchesTheNewVersion()
    {
        await Server.PutAsync("c/model.onnx", Bytes(4_096, seed: 3));
        var path = await ObjectFiles.FetchAsync(Server.Url("c/model.onnx"), Server.Options(_cache.Path));
        var replaced = Bytes(4_096, seed: 4);
        await Server.PutAsync("c/model.onnx", replaced);

        var again = await ObjectFiles.FetchAsync(Server.Url("c/model.onnx"), Server.Options(_cache.Path));

        Assert.Equal(path, again);
        Assert.Equal(replaced, await File.ReadAllBytesAsync(again)); // same size: only the ETag tells them apart
    }

    [Fact]
    public async Task FetchAsync_CachedCopyAltered_FetchesAgain()
    {
        await Server.PutAsync("d/model.onnx", Bytes(2_000, seed: 5));
        var path = await ObjectFiles.FetchAsync(Server.Url("d/model.onnx"), Server.Options(_cache.Path));
        await File.WriteAllBytesAsync(path, [1, 2, 3]);

        var again = await ObjectFiles.FetchAsync(Server.Url("d/model.onnx"), Server.Options(_cache.Path));

        Assert.Equal(Bytes(2_000, seed: 5), await File.ReadAllBytesAsync(again));
    }

    [Fact]
    public async Task FetchAsync_NoSuchObject_SaysSoAndNamesTheUrl()
    {
        var e = await Assert.ThrowsAsync<ObjectFileException>(() => ObjectFiles.FetchAsync(Server.Url("nope/model.onnx"), Server.Options(_cache.Path)));

        Assert.Contains("s3://models/nope/model.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("no such object", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_ServerGoneButCopyCached_Refuses()
    {
        await Server.PutAsync("e/model.onnx", Bytes(1_000, seed: 6));
        await ObjectFiles.FetchAsync(Server.Url("e/model.onnx"), Server.Options(_cache.Path));
        var nobody = Server.Options(_cache.Path) with { S3Endpoint = new Uri("http://127.0.0.1:9") };

        var e = await Assert.ThrowsAsync<ObjectFileException>(() => ObjectFiles.FetchAsync(Server.Url("e/model.onnx"), nobody));

        Assert.Contains("could not be reached", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeadAsync_NotYetFetched_GivesTheSizeAndDownloadsNothing()
    {
        await Server.PutAsync("f/model.onnx", Bytes(3_333, seed: 7));

        var info = await ObjectFiles.HeadAsync(Server.Url("f/model.onnx"), Server.Options(_cache.Path));
        Assert.Equal(3_333, info.Length);
        Assert.Null(info.CachedPath);
        Assert.False(Directory.Exists(Path.Combine(_cache.Path, ObjectFiles.KeyOf(Server.Url("f/model.onnx")))));

        var path = await ObjectFiles.FetchAsync(Server.Url("f/model.onnx"), Server.Options(_cache.Path));
        Assert.Equal(path, (await ObjectFiles.HeadAsync(Server.Url("f/model.onnx"), Server.Options(_cache.Path))).CachedPath);
    }

    [Fact]
    public async Task FetchAsync_HttpOnLoopback_FetchesOnceThenReusesByETag()
    {
        var bytes = Bytes(7_000, seed: 8);
        await Server.PutAsync("g/vocab.txt", bytes);
        var url = new Uri(Server.Endpoint, $"{S3rver.Bucket}/g/vocab.txt"); // s3rver serves objects to anonymous GETs too

        var path = await ObjectFiles.FetchAsync(url, Server.Options(_cache.Path));
        File.SetLastWriteTimeUtc(path, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var again = await ObjectFiles.FetchAsync(url, Server.Options(_cache.Path));

        Assert.Equal(bytes, await File.ReadAllBytesAsync(again));
        Assert.Equal(2001, File.GetLastWriteTimeUtc(again).Year);
    }

    [Fact]
    public async Task FetchAsync_HttpNoSuchObject_SaysSo()
    {
        var url = new Uri(Server.Endpoint, $"{S3rver.Bucket}/nope.txt");

        var e = await Assert.ThrowsAsync<ObjectFileException>(() => ObjectFiles.FetchAsync(url, Server.Options(_cache.Path)));

        Assert.Contains($"{url}: no such object", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://key:secret@models/m.onnx", "must not carry credentials")]
    [InlineData("https://user:pw@example.com/m.onnx", "must not carry credentials")]
    [InlineData("http://example.com/m.onnx", "plain http is accepted only from this machine")]
    [InlineData("ftp://example.com/m.onnx", "is not supported")]
    [InlineData("s3://models/", "give s3://bucket/key")]
    public void Parse_RefusedUrl_SaysWhy(string url, string why)
    {
        var e = Assert.Throws<ObjectFileException>(() => ObjectFiles.Parse(url));

        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":pw", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/m.onnx")]
    [InlineData("http://localhost/m.onnx")]
    [InlineData("http://[::1]/m.onnx")]
    [InlineData("https://example.com/m.onnx")]
    [InlineData("s3://models/a/b.onnx")]
    public void Parse_AcceptedUrl_ReturnsIt(string url) => Assert.Equal(url, ObjectFiles.Parse(url).OriginalString);

    [Theory]
    [InlineData("models/m.onnx", false)]
    [InlineData("/abs/m.onnx", false)]
    [InlineData("s3://b/k", true)]
    [InlineData("HTTPS://h/p", true)]
    public void IsUrl_PathOrUrl_Tells(string value, bool url) => Assert.Equal(url, ObjectFiles.IsUrl(value));

    private static byte[] Bytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public void Dispose() => _cache.Dispose();
}
