using SkiaSharp;

namespace Sluice.Tests.Shared;

/// <summary>Real encoded images for tests, drawn with SkiaSharp: solid colours and coloured regions whose pixels are known.</summary>
internal static class TestImages
{
    public static readonly SKColor Red = new(255, 0, 0);
    public static readonly SKColor Green = new(0, 255, 0);
    public static readonly SKColor Blue = new(0, 0, 255);
    public static readonly SKColor White = new(255, 255, 255);

    /// <summary>An image of <paramref name="width"/> × <paramref name="height"/> filled with <paramref name="color"/>.</summary>
    public static byte[] Solid(int width, int height, SKColor color, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Encode(width, height, format, c => c.Clear(color));

    /// <summary>Vertical bands of equal width, left to right.</summary>
    public static byte[] Bands(int width, int height, SKEncodedImageFormat format, params SKColor[] colors) =>
        Encode(width, height, format, c =>
        {
            using var paint = new SKPaint();
            for (var i = 0; i < colors.Length; i++)
            {
                paint.Color = colors[i];
                c.DrawRect(SKRect.Create((float)width * i / colors.Length, 0, (float)width / colors.Length, height), paint);
            }
        });

    /// <summary>The top half <paramref name="top"/>, the bottom half <paramref name="bottom"/>.</summary>
    public static byte[] Halves(int width, int height, SKEncodedImageFormat format, SKColor top, SKColor bottom) =>
        Encode(width, height, format, c =>
        {
            using var paint = new SKPaint { Color = top };
            c.DrawRect(SKRect.Create(0, 0, width, height / 2f), paint);
            paint.Color = bottom;
            c.DrawRect(SKRect.Create(0, height / 2f, width, height / 2f), paint);
        });

    public static byte[] Encode(int width, int height, SKEncodedImageFormat format, Action<SKCanvas> draw, int quality = 95)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap)) draw(canvas);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}");
        return data.ToArray();
    }

    /// <summary>
    /// A JPEG with an EXIF orientation tag (1..8), which SkiaSharp's encoder cannot write: a hand-made APP1 segment right
    /// after SOI holding a big-endian TIFF header and one IFD entry, 0x0112 Orientation, SHORT.
    /// </summary>
    public static byte[] WithOrientation(byte[] jpeg, int orientation)
    {
        if (jpeg.Length < 2 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) throw new ArgumentException("not a JPEG", nameof(jpeg));
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, // header: big-endian, IFD0 at offset 8
            0, 1,                                    // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, // Orientation, SHORT, count 1, value
            0, 0, 0, 0,                              // no next IFD
        ];
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var length = payload.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload];
        return [0xFF, 0xD8, .. app1, .. jpeg.AsSpan(2)];
    }
}
