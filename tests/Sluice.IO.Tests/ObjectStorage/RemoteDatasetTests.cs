using System.IO.Compression;
using System.Text;
using Apache.Arrow;
using Sluice.Testing.ObjectStorage;

namespace Sluice.IO.Tests.ObjectStorage;

/// <summary>Datasets read from a real S3 server (s3rver): a prefix, a glob, one key; metadata skipped; compression by extension; spool files removed.</summary>
public sealed class RemoteDatasetTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempDir _cache = new();
    private S3rver Server => fixture.Server;

    public void Dispose() => _cache.Dispose();

    private static byte[] Lines(string prefix, int count) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, count).Select(i => $"{prefix}{i}\n")));

    private static byte[] Gzip(byte[] plain)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest)) gz.Write(plain);
        return buffer.ToArray();
    }

    private async Task<List<string>> ReadTextAsync(string url)
    {
        var source = Sources.Remote(url, "text", local => Sources.Text(local), Server.Options(_cache.Path));
        var rows = new List<string>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(50, CancellationToken.None))
            {
                var text = (StringArray)batch.Column("text");
                for (var i = 0; i < batch.Length; i++) rows.Add(text.GetString(i));
            }
        }
        return rows;
    }

    [Fact]
    public async Task Prefix_ReadsEveryObjectUnderItInKeyOrder_SkipsMetadataAndDeeperFolders_DecompressesGz()
    {
        await Server.PutAsync("ds1/a.txt", Lines("a", 120));
        await Server.PutAsync("ds1/b.txt.gz", Gzip(Lines("b", 80)));
        await Server.PutAsync("ds1/_SUCCESS", []);
        await Server.PutAsync("ds1/deeper/c.txt", Lines("c", 5));

        var rows = await ReadTextAsync($"s3://{S3rver.Bucket}/ds1");

        Assert.Equal([.. Enumerable.Range(0, 120).Select(i => $"a{i}"), .. Enumerable.Range(0, 80).Select(i => $"b{i}")], rows);
        Assert.Equal(rows, await ReadTextAsync($"s3://{S3rver.Bucket}/ds1/"));
        // Each object is spooled while its task reads, then removed.
        Assert.Empty(Directory.Exists(Path.Combine(_cache.Path, "spool")) ? Directory.GetFiles(Path.Combine(_cache.Path, "spool"), "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task GlobAndSingleKey_ReadOnlyWhatTheyName()
    {
        await Server.PutAsync("ds2/x.txt", Lines("x", 3));
        await Server.PutAsync("ds2/y.csv", Lines("y", 3));
        Assert.Equal(["x0", "x1", "x2"], await ReadTextAsync($"s3://{S3rver.Bucket}/ds2/*.txt"));
        Assert.Equal(["y0", "y1", "y2"], await ReadTextAsync($"s3://{S3rver.Bucket}/ds2/y.csv"));
    }

    [Fact]
    public async Task DescribeInputs_NamesEachObjectWithItsSize_SoAResumeSeesAChangedInput()
    {
        await Server.PutAsync("ds3/a.txt", Lines("a", 10));
        var source = Sources.Remote($"s3://{S3rver.Bucket}/ds3", "text", local => Sources.Text(local), Server.Options(_cache.Path));
        await source.PlanAsync(CancellationToken.None);
        var input = Assert.Single(source.DescribeInputs()!.Files);
        Assert.Equal($"s3://{S3rver.Bucket}/ds3/a.txt", input.Path);
        Assert.Equal(Lines("a", 10).Length, input.Length);
        Assert.Equal(1, source.Estimate()!.ReadTasks);
    }

    [Fact]
    public async Task EmptyPrefix_BadLine_AndUnknownScheme_AreLocatedErrors()
    {
        var none = await Assert.ThrowsAsync<BadInputException>(() => ReadTextAsync($"s3://{S3rver.Bucket}/nothing-here"));
        Assert.Contains("no object is named so and none lies under it", none.Message, StringComparison.Ordinal);

        await Server.PutAsync("ds4/bad.jsonl", Encoding.UTF8.GetBytes("{\"a\": 1}\n{broken\n"));
        var source = Sources.Remote($"s3://{S3rver.Bucket}/ds4", "jsonl", local => Sources.JsonLines(local), Server.Options(_cache.Path));
        var e = await Assert.ThrowsAsync<BadInputException>(async () =>
        {
            foreach (var task in await source.PlanAsync(CancellationToken.None))
                await foreach (var _ in task.ReadAsync(10, CancellationToken.None)) { }
        });
        // The error names the object, not the spool file it was read from.
        Assert.Contains($"s3://{S3rver.Bucket}/ds4/bad.jsonl", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("spool", e.Message, StringComparison.Ordinal);

        Assert.Throws<BadInputException>(() => Sources.Remote("gs://b/x", "text", local => Sources.Text(local)));
    }
}
