using Apache.Arrow;
using SkiaSharp;
using Sluice.Contracts;
using Sluice.Tests.Shared;

namespace Sluice.IO.Tests;

public sealed class ImagesDatasourceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, byte[] bytes)
    {
        var path = _dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static async Task<List<(string Path, long Size, int Width, int Height, byte[] Image)>> ReadAsync(Datasource source, int blockRows = 1000)
    {
        var rows = new List<(string, long, int, int, byte[])>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(blockRows, CancellationToken.None))
            {
                Assert.Equal(["path", "size", "width", "height", "image"], batch.Schema.FieldsList.Select(f => f.Name));
                var paths = (StringArray)batch.Column("path");
                var sizes = (Int64Array)batch.Column("size");
                var widths = (Int32Array)batch.Column("width");
                var heights = (Int32Array)batch.Column("height");
                var images = (BinaryArray)batch.Column("image");
                for (var i = 0; i < batch.Length; i++)
                    rows.Add((paths.GetString(i), sizes.GetValue(i)!.Value, widths.GetValue(i)!.Value, heights.GetValue(i)!.Value, images.GetBytes(i).ToArray()));
            }
        }
        return rows;
    }

    [Fact]
    public async Task ReadAsync_JpegPngWebP_OneRowPerFileSortedWithHeaderSizesAndTheFileBytes()
    {
        var png = Write("b.png", TestImages.Solid(40, 30, TestImages.Red));
        var jpeg = Write("a.jpg", TestImages.Solid(64, 48, TestImages.Green, SKEncodedImageFormat.Jpeg));
        var webp = Write("c.webp", TestImages.Solid(20, 10, TestImages.Blue, SKEncodedImageFormat.Webp));
        Write(".hidden.jpg", [1, 2, 3]);
        Write("_SUCCESS", []);

        var rows = await ReadAsync(Sources.Images(_dir.Path));

        Assert.Equal([jpeg, png, webp], rows.Select(r => r.Path));
        Assert.Equal([(64, 48), (40, 30), (20, 10)], rows.Select(r => (r.Width, r.Height)));
        Assert.Equal(rows.Select(r => new FileInfo(r.Path).Length), rows.Select(r => r.Size));
        foreach (var row in rows) Assert.Equal(File.ReadAllBytes(row.Path), row.Image);
    }

    [Fact]
    public async Task ReadAsync_ExifRotatedJpeg_WidthAndHeightAsDisplayed()
    {
        var stored = TestImages.Solid(64, 32, TestImages.Red, SKEncodedImageFormat.Jpeg);
        Write("turned.jpg", TestImages.WithOrientation(stored, 6));
        Write("upright.jpg", TestImages.WithOrientation(stored, 1));

        var rows = await ReadAsync(Sources.Images(_dir.File("*.jpg")));

        Assert.Equal([(32, 64), (64, 32)], rows.Select(r => (r.Width, r.Height)));
    }

    [Fact]
    public async Task ReadAsync_NotAnImage_BadInputNamingTheFile()
    {
        Write("a.jpg", TestImages.Solid(8, 8, TestImages.Red, SKEncodedImageFormat.Jpeg));
        var bad = Write("b.jpg", "this is a text file, not a JPEG"u8.ToArray());

        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAsync(Sources.Images(_dir.Path)));

        Assert.Contains($"'{bad}' is not an image", e.Message);
        Assert.Contains("JPEG, PNG, WebP", e.Message);
    }

    [Fact]
    public async Task PlanAsync_FilesPerTask_RunsOfFilesInSortedOrderWithStableIds()
    {
        var files = Enumerable.Range(0, 5).Select(i => Write($"img-{i}.png", TestImages.Solid(4 + i, 4, TestImages.White))).ToList();
        var source = Sources.Images(_dir.Path, new ImagesOptions { FilesPerTask = 2 });

        var tasks = await source.PlanAsync(CancellationToken.None);
        var again = await Sources.Images(_dir.Path, new ImagesOptions { FilesPerTask = 2 }).PlanAsync(CancellationToken.None);
        var estimate = source.Estimate()!;
        var rows = await ReadAsync(source, blockRows: 1);

        Assert.Equal([$"{files[0]} .. {files[1]} (2 files)", $"{files[2]} .. {files[3]} (2 files)", files[4]], tasks.Select(t => t.Id));
        Assert.Equal(tasks.Select(t => t.Id), again.Select(t => t.Id));
        Assert.Equal((5L, 3), (estimate.Rows, estimate.ReadTasks));
        Assert.Equal(files, rows.Select(r => r.Path));
        Assert.Throws<SluiceException>(() => Sources.Images(_dir.Path, new ImagesOptions { FilesPerTask = 0 }));
    }

    [Fact]
    public async Task PlanAsync_RecursiveGlob_NestedFilesSortedOrdinallyHiddenDirectoriesSkipped()
    {
        var png = TestImages.Solid(4, 4, TestImages.White);
        var nested = Write("photos/2023/x/a.jpg", png);
        var year = Write("photos/2024/b.jpg", png);
        var top = Write("photos/top.jpg", png);
        Write("photos/.cache/z.jpg", png);
        Write("photos/_tmp/y.jpg", png);
        Write("photos/2024/.c.jpg", png);
        var notes = Write("photos/2024/notes.txt", "not an image"u8.ToArray());
        Write("elsewhere/w.jpg", png);

        var jpegs = await ReadAsync(Sources.Images(_dir.File("photos/**/*.jpg")));
        var all = Files.FileLister.Expand(_dir.File("photos/**"), "image", compressed: false);
        var source = Sources.Images(_dir.File("photos/**/*.jpg"));
        await source.PlanAsync(CancellationToken.None);

        Assert.Equal([nested, year, top], jpegs.Select(r => r.Path));
        Assert.Equal([nested, year, notes, top], all);
        Assert.Equal([_dir.File("photos")], source.DescribeInputs()!.ListedDirectories);
    }

    [Theory]
    [InlineData("photos/**/x/*.jpg", "only as the last directory")]
    [InlineData("photos/*/b.jpg", "only as the last directory")]
    [InlineData("photos/a**.jpg", "a whole directory name")]
    [InlineData("nowhere/**/*.jpg", "does not exist")]
    [InlineData("photos/**/*.gif", "no files match")]
    public async Task PlanAsync_BadRecursiveGlob_ErrorSaysWhatIsAccepted(string glob, string expected)
    {
        Write("photos/x/b.jpg", TestImages.Solid(4, 4, TestImages.White));

        var e = await Assert.ThrowsAsync<BadInputException>(() => Sources.Images(_dir.File(glob)).PlanAsync(CancellationToken.None).AsTask());

        Assert.Contains(expected, e.Message);
    }
}
