using Apache.Arrow;
using Apache.Arrow.Types;
using SkiaSharp;
using Sluice.Tests.Shared;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests.Images;

public sealed class ImagePreprocessProcessorTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sluice-img-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A batch as the images read format makes it: path and the encoded bytes.</summary>
    private static RecordBatch Encoded(params (string Path, byte[] Bytes)[] rows)
    {
        var paths = new StringArray.Builder();
        var images = new BinaryArray.Builder();
        foreach (var (path, bytes) in rows)
        {
            paths.Append(path);
            images.Append(bytes.AsSpan());
        }
        return new RecordBatch(new Schema([new Field("path", StringType.Default, false), new Field("image", BinaryType.Default, false)], null),
            [paths.Build(), images.Build()], rows.Length);
    }

    private static async Task<(RecordBatch Batch, T[] Values)> RunAsync<T>(ImagePreprocessOptions options, RecordBatch batch) where T : struct
    {
        await using var processor = new ImagePreprocessProcessor(options);
        await processor.InitializeAsync(Batches.Context(), CancellationToken.None);
        var result = await processor.ProcessAsync(batch, CancellationToken.None);
        return (result, TensorColumns.Elements<T>((FixedSizeListArray)result.Column(options.Output)).ToArray());
    }

    /// <summary>Channel <paramref name="c"/> of pixel (x, y) of row 0 in an NCHW byte tensor.</summary>
    private static byte At(byte[] chw, int size, int c, int x, int y) => chw[c * size * size + y * size + x];

    private static (byte R, byte G, byte B) Rgb(byte[] chw, int size, int x, int y) => (At(chw, size, 0, x, y), At(chw, size, 1, x, y), At(chw, size, 2, x, y));

    private static void Near((byte R, byte G, byte B) expected, (byte R, byte G, byte B) got, int tolerance, string where)
    {
        var diff = Math.Max(Math.Abs(expected.R - got.R), Math.Max(Math.Abs(expected.G - got.G), Math.Abs(expected.B - got.B)));
        Assert.True(diff <= tolerance, $"{where}: expected {expected}, got {got}");
    }

    private static readonly ImagePreprocessOptions Raw = new(Size: 32) { Dtype = PixelType.Bytes, Normalize = PixelNormalize.None };

    [Fact]
    public async Task ProcessAsync_Defaults_ImageNetNormalizedFloatNchwTensorAndTheBytesColumnDropped()
    {
        var (batch, values) = await RunAsync<float>(new ImagePreprocessOptions(Size: 16), Encoded(("a.png", TestImages.Solid(50, 30, new SKColor(200, 100, 50)))));

        Assert.Equal(["path", "pixel_values"], batch.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal([3, 16, 16], TensorColumns.RowShape(batch.Schema.GetFieldByName("pixel_values")));
        float[] expected = [(200 / 255f - 0.485f) / 0.229f, (100 / 255f - 0.456f) / 0.224f, (50 / 255f - 0.406f) / 0.225f];
        for (var c = 0; c < 3; c++)
        {
            var plane = values.AsSpan(c * 256, 256).ToArray();
            Assert.All(plane, v => Assert.Equal(expected[c], v, 1e-5f));
        }
    }

    [Fact]
    public async Task ProcessAsync_BgrNhwcUnit_ChannelsSwappedAndInterleaved()
    {
        var options = new ImagePreprocessOptions(Size: 8) { ChannelOrder = ChannelOrder.Bgr, Layout = PixelLayout.Nhwc, Normalize = PixelNormalize.Unit, KeepEncoded = true };

        var (batch, values) = await RunAsync<float>(options, Encoded(("a.png", TestImages.Solid(8, 8, new SKColor(255, 102, 0)))));

        Assert.Equal(["path", "image", "pixel_values"], batch.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal([8, 8, 3], TensorColumns.RowShape(batch.Schema.GetFieldByName("pixel_values")));
        Assert.Equal(0f, values[0], 1e-6f);
        Assert.Equal(0.4f, values[1], 1e-6f);
        Assert.Equal(1f, values[2], 1e-6f);
        Assert.Equal(values.Take(3), values.Skip(3 * 63).Take(3));
    }

    [Fact]
    public async Task ProcessAsync_WideImage_ShorterSideResizedThenCentreCropped_StretchKeepsAll()
    {
        // 96 x 32, red | green | blue: the centre 32 x 32 square is all green; stretched, red on the left, blue on the right.
        var bands = TestImages.Bands(96, 32, SKEncodedImageFormat.Png, TestImages.Red, TestImages.Green, TestImages.Blue);

        var (_, crop) = await RunAsync<byte>(Raw, Encoded(("bands.png", bands)));
        var (_, stretch) = await RunAsync<byte>(Raw with { Resize = ImageResize.Stretch }, Encoded(("bands.png", bands)));

        for (var x = 0; x < 32; x++) Near((0, 255, 0), Rgb(crop, 32, x, 16), 0, $"crop x={x}");
        Near((255, 0, 0), Rgb(stretch, 32, 2, 16), 0, "stretch left");
        Near((0, 255, 0), Rgb(stretch, 32, 16, 16), 0, "stretch middle");
        Near((0, 0, 255), Rgb(stretch, 32, 29, 16), 0, "stretch right");
    }

    [Theory]
    [InlineData(1, "red top")]
    [InlineData(3, "blue top")]      // turned 180°
    [InlineData(6, "red right")]     // stored top is displayed on the right (a phone held upright)
    [InlineData(8, "red left")]
    public async Task ProcessAsync_ExifOrientation_ImageAsDisplayed(int orientation, string expected)
    {
        // Stored 64 x 32: top half red, bottom half blue.
        var jpeg = TestImages.WithOrientation(TestImages.Halves(64, 32, SKEncodedImageFormat.Jpeg, TestImages.Red, TestImages.Blue), orientation);

        var (_, px) = await RunAsync<byte>(Raw with { Resize = ImageResize.Stretch }, Encoded(("turned.jpg", jpeg)));

        var (top, bottom, left, right) = (Rgb(px, 32, 16, 3), Rgb(px, 32, 16, 28), Rgb(px, 32, 3, 16), Rgb(px, 32, 28, 16));
        output.WriteLine($"orientation {orientation}: top {top} bottom {bottom} left {left} right {right}");
        const int jpegTolerance = 24;
        switch (expected)
        {
            case "red top": Near((255, 0, 0), top, jpegTolerance, "top"); Near((0, 0, 255), bottom, jpegTolerance, "bottom"); break;
            case "blue top": Near((0, 0, 255), top, jpegTolerance, "top"); Near((255, 0, 0), bottom, jpegTolerance, "bottom"); break;
            case "red right": Near((255, 0, 0), right, jpegTolerance, "right"); Near((0, 0, 255), left, jpegTolerance, "left"); break;
            case "red left": Near((255, 0, 0), left, jpegTolerance, "left"); Near((0, 0, 255), right, jpegTolerance, "right"); break;
        }
    }

    [Fact]
    public async Task ProcessAsync_LargeJpegScaledDecode_ColoursAndCropOfTheFullImage()
    {
        // 1600 x 1200 (JPEG decodes at 1/4 in the DCT domain for 224): left half green, right half blue.
        var jpeg = TestImages.Bands(1600, 1200, SKEncodedImageFormat.Jpeg, TestImages.Green, TestImages.Blue);

        var (_, px) = await RunAsync<byte>(Raw with { Size = 224 }, Encoded(("big.jpg", jpeg)));

        Near((0, 255, 0), Rgb(px, 224, 20, 112), 12, "left");
        Near((0, 0, 255), Rgb(px, 224, 203, 112), 12, "right");
    }

    [Fact]
    public async Task ProcessAsync_LargePngOfOnePixelStripes_ShrunkWithoutAliasingToEvenGrey()
    {
        // 1792 x 1792 of columns white, black, black, ..., 8x down to 224 (a PNG has no scaled decode): averaged, every
        // pixel is a third grey (85); sampled without mipmaps, columns come out 0, 128 or 255 (the test fails so).
        var stripes = TestImages.Encode(1792, 1792, SKEncodedImageFormat.Png, c =>
        {
            c.Clear(SKColors.Black);
            using var paint = new SKPaint { Color = SKColors.White };
            for (var x = 0; x < 1792; x += 3) c.DrawRect(x, 0, 1, 1792, paint);
        });

        var (_, px) = await RunAsync<byte>(Raw with { Size = 224 }, Encoded(("stripes.png", stripes)));

        var (min, max) = (px.Min(), px.Max());
        output.WriteLine($"stripes at 1/8: values {min}..{max}");
        Assert.True(min >= 45 && max <= 125, $"expected an even grey (85 ± 40) everywhere, got {min}..{max}");
    }

    [Fact]
    public async Task ProcessAsync_CorruptOrTruncatedImage_BadInputNamingTheRowAndFile()
    {
        var good = TestImages.Solid(16, 16, TestImages.Red, SKEncodedImageFormat.Jpeg);
        var big = TestImages.Bands(320, 240, SKEncodedImageFormat.Jpeg, TestImages.Red, TestImages.Blue);
        var truncated = big.AsSpan(0, big.Length / 2).ToArray();

        var notImage = await Assert.ThrowsAsync<BadInputException>(() => RunAsync<byte>(Raw, Encoded(("photos/ok.jpg", good), ("photos/notes.jpg", "plain text"u8.ToArray()))));
        var cut = await Assert.ThrowsAsync<BadInputException>(() => RunAsync<byte>(Raw, Encoded(("photos/ok.jpg", good), ("photos/ok2.jpg", good), ("photos/cut.jpg", truncated))));

        output.WriteLine(notImage.Message);
        output.WriteLine(cut.Message);
        Assert.Contains("row 1 ('photos/notes.jpg')", notImage.Message);
        Assert.Contains("not an image", notImage.Message);
        Assert.Contains("row 2 ('photos/cut.jpg')", cut.Message);
        Assert.Contains("ends early", cut.Message);
    }

    [Fact]
    public async Task ProcessAsync_PathColumnUnderRoot_ReadsTheFilesAndNamesAMissingOne()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "images"));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "images", "a.webp"), TestImages.Solid(40, 40, TestImages.Green, SKEncodedImageFormat.Webp));
        var paths = new StringArray.Builder().Append("images/a.webp").Build();
        var batch = new RecordBatch(new Schema([new Field("image_path", StringType.Default, false)], null), [paths], 1);
        var options = Raw with { PathColumn = "image_path", Root = _dir, Output = "image" };

        var (result, px) = await RunAsync<byte>(options, batch);
        var missing = await Assert.ThrowsAsync<BadInputException>(() => RunAsync<byte>(options with { Root = Path.Combine(_dir, "elsewhere") }, batch));

        Assert.Equal(["image_path", "image"], result.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal(ArrowTypeId.UInt8, ((FixedSizeListType)result.Schema.GetFieldByName("image").DataType).ValueDataType.TypeId);
        Near((0, 255, 0), Rgb(px, 32, 16, 16), 8, "webp");
        Assert.Contains("images/a.webp", missing.Message);
        Assert.Contains("column 'image_path'", missing.Message);

        // A path from the data never leaves the root: '..' out of it, or an absolute path, is refused before any read.
        foreach (var escape in new[] { "../outside.webp", "images/../../outside.webp", "/etc/passwd" })
        {
            var rows = new RecordBatch(new Schema([new Field("image_path", StringType.Default, false)], null), [new StringArray.Builder().Append(escape).Build()], 1);
            var refused = await Assert.ThrowsAsync<BadInputException>(() => RunAsync<byte>(options with { Root = Path.Combine(_dir, "images") }, rows));
            Assert.Contains("leads outside root", refused.Message);
        }
    }

    [Fact]
    public async Task ProcessAsync_PathColumnThroughASymlinkOutOfRoot_RefusedNamingRowColumnAndPath_LinksInsideRootRead()
    {
        // Outside the root: a real image (so only the confinement can refuse it) and a directory of them.
        var outside = Directory.CreateDirectory(Path.Combine(_dir, "outside")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(outside, "secret.png"), TestImages.Solid(40, 40, TestImages.Green, SKEncodedImageFormat.Png));
        var root = Directory.CreateDirectory(Path.Combine(_dir, "root")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "images"));
        await File.WriteAllBytesAsync(Path.Combine(root, "images", "ok.png"), TestImages.Solid(40, 40, TestImages.Green, SKEncodedImageFormat.Png));
        File.CreateSymbolicLink(Path.Combine(root, "file-link.png"), Path.Combine(outside, "secret.png"));
        Directory.CreateSymbolicLink(Path.Combine(root, "dir-link"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "relative-link.png"), "../outside/secret.png");
        File.CreateSymbolicLink(Path.Combine(root, "inside-link.png"), "images/ok.png");
        // The root itself reached through a link (a mounted volume): paths under it are judged against where it really is.
        Directory.CreateSymbolicLink(Path.Combine(_dir, "root-link"), root);
        var options = Raw with { PathColumn = "image_path", Output = "image" };

        foreach (var (rootGiven, escape) in new[] { (root, "file-link.png"), (root, "dir-link/secret.png"), (root, "relative-link.png"), (Path.Combine(_dir, "root-link"), "dir-link/secret.png") })
        {
            var rows = new RecordBatch(new Schema([new Field("image_path", StringType.Default, false)], null),
                [new StringArray.Builder().Append("images/ok.png").Append(escape).Build()], 2);
            var refused = await Assert.ThrowsAsync<BadInputException>(() => RunAsync<byte>(options with { Root = rootGiven }, rows));
            output.WriteLine(refused.Message);
            Assert.Contains("row 1:", refused.Message);
            Assert.Contains($"'{escape}'", refused.Message);
            Assert.Contains("column 'image_path'", refused.Message);
            Assert.Contains("through a symbolic link", refused.Message);
            Assert.Contains(Path.Combine(outside, "secret.png"), refused.Message);
            Assert.Contains("with no link out of it", refused.Message);
        }

        var inside = new RecordBatch(new Schema([new Field("image_path", StringType.Default, false)], null),
            [new StringArray.Builder().Append("inside-link.png").Append("images/ok.png").Build()], 2);
        var (_, px) = await RunAsync<byte>(options with { Root = Path.Combine(_dir, "root-link") }, inside);
        Near((0, 255, 0), Rgb(px, 32, 16, 16), 8, "a link inside the root");
        Near((0, 255, 0), Rgb(px[(3 * 32 * 32)..], 32, 16, 16), 8, "a file under a root given through a link");
    }

    [Fact]
    public void Create_Uint8WithNormalization_RefusedNamingTheOption()
    {
        var e = Assert.Throws<SluiceException>(() => new ImagePreprocessProcessor(new ImagePreprocessOptions { Dtype = PixelType.Bytes }));

        Assert.Contains("Normalize", e.Message);
        Assert.Contains("normalize: none", e.Message);
    }
}
